"""Syslog over TCP, optionally TLS (mutual TLS for Devo). One connection per sender.

Plain syslog has no acknowledgements, so the sender uses TCP's: each batch is marked with the connection's byte
position at the end of its write (bytes the peer's TCP acknowledged, TCP_INFO `tcpi_bytes_acked`, plus those still in
our send queue, SIOCOUTQ: both count bytes on the wire, so this holds under TLS and compression), and the batch is
acknowledged once the peer's TCP acknowledged that position. That is as far as TCP can see: bytes the peer's kernel
acknowledged but its process never read die with the process, which is why the delivery thread keeps a replay
window for this sender (`replays`). Where TCP_INFO is missing (not Linux), a batch counts as acknowledged once
written on a connection that is still open.

A TLS 1.3 server rejects a client certificate only after the handshake, on a later read: after the handshake and at
every acknowledgement check the sender looks for the peer closing or rejecting the connection.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import select
import socket
import ssl
import struct
import termios
import time
import zlib
from collections.abc import Sequence

from devo_sqs.messages import TagGroup
from devo_sqs.output.framing import Framer
from devo_sqs.output.senders.base import OutputError

CONNECT_TIMEOUT_SECONDS = 10.0
WRITE_TIMEOUT_SECONDS = 30.0
HANDSHAKE_PROBE_SECONDS = 0.25
TCP_INFO_SIZE = 192
TCP_INFO_BYTES_ACKED = 120  # offset of the u64 tcpi_bytes_acked in Linux's struct tcp_info


def tls_context(*, chain: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    """Client context: verify the server against `chain` (system CAs without it), present cert/key."""
    context = ssl.create_default_context(cafile=chain)
    if cert:
        context.load_cert_chain(certfile=cert, keyfile=key)
    return context


class SyslogSender:
    replays = True

    def __init__(
        self,
        *,
        address: str,
        port: int,
        framer: Framer,
        tls: ssl.SSLContext | None = None,
        compressed: bool = False,
        max_age_seconds: float = 3600.0,
    ) -> None:
        self.address = address
        self.port = port
        self.description = f"{address}:{port} ({'tls' if tls else 'tcp'})"
        self._framer = framer
        self._tls = tls
        self._compressed = compressed
        self._max_age_seconds = max_age_seconds
        self._sock: socket.socket | None = None
        self._opened_at = 0.0
        self._compressor: zlib._Compress | None = None
        self._marks = 0  # the last mark handed out
        self._acked = 0  # the highest mark acknowledged
        self._positions: collections.deque[tuple[int, int]] = collections.deque()  # (mark, byte position) unacked

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    @property
    def expired(self) -> bool:
        """Open longer than the connection's maximum age: to be recycled once nothing is unacknowledged."""
        return self._sock is not None and time.monotonic() - self._opened_at > self._max_age_seconds

    def send(self, groups: Sequence[TagGroup], *, timestamp: bytes) -> int:
        payload = b"".join(self._framer.frame_run(tag, messages, timestamp=timestamp) for tag, messages in groups)
        sock = self._sock or self._connect()
        if self._compressor is not None:
            payload = self._compressor.compress(payload) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        try:
            sock.sendall(payload)
        except (OSError, ValueError) as exc:
            self._break()
            raise OutputError(f"write to {self.description} failed: {exc}") from exc
        self._marks += 1
        self._positions.append((self._marks, _position(sock)))
        return self._marks

    def acknowledged(self) -> int:
        if not self._positions:
            return self._acked
        sock = self._sock
        if sock is None or _peer_closed(sock, timeout=0.0):
            self._break()
            raise OutputError(f"{self.description}: connection closed by the peer")
        everything = _unsent(sock) == 0  # nothing unacknowledged left: every position was reached
        acked = _bytes_acked(sock)
        while self._positions and (everything or acked is None or self._positions[0][1] <= acked):
            self._acked = self._positions.popleft()[0]
        return self._acked

    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._positions.clear()
        self._acked = self._marks
        if sock is not None:
            if self._compressor is not None:  # end the gzip member, so the peer sees a whole stream
                with contextlib.suppress(OSError, ValueError):
                    sock.sendall(self._compressor.flush())
            _discard_incoming(sock)
            with contextlib.suppress(OSError):
                sock.close()

    def _break(self) -> None:
        """The connection is lost: what was not acknowledged stays so (the delivery thread sends it again)."""
        sock, self._sock = self._sock, None
        self._positions.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _connect(self) -> socket.socket:
        try:
            raw = socket.create_connection((self.address, self.port), timeout=CONNECT_TIMEOUT_SECONDS)
        except OSError as exc:
            raise OutputError(f"cannot connect to {self.description}: {exc}") from exc
        try:
            sock = self._tls.wrap_socket(raw, server_hostname=self.address) if self._tls else raw
            if self._tls and _peer_closed(sock, timeout=HANDSHAKE_PROBE_SECONDS):
                raise OutputError(f"{self.description} rejected the TLS session (client certificate?)")
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise OutputError(f"TLS handshake with {self.description} failed: {exc}") from exc
        except OutputError:
            raw.close()
            raise
        sock.settimeout(WRITE_TIMEOUT_SECONDS)
        self._sock, self._opened_at = sock, time.monotonic()
        self._acked = self._marks  # nothing of an earlier connection is waited for on this one
        self._compressor = zlib.compressobj(wbits=31) if self._compressed else None
        return sock


def _position(sock: socket.socket) -> int:
    """Bytes written so far on the connection, counted as the peer's TCP will acknowledge them. The send queue is
    read first, so an acknowledgement arriving in between can only make the position too high, never too low; a
    position set too high is still reached once the send queue is empty (see `acknowledged`)."""
    unsent = _unsent(sock)
    acked = _bytes_acked(sock)
    return 0 if acked is None else acked + unsent


def _bytes_acked(sock: socket.socket) -> int | None:
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_SIZE)
    except (OSError, AttributeError):
        return None
    if len(raw) < TCP_INFO_BYTES_ACKED + 8:
        return None
    acked: int = struct.unpack_from("=Q", raw, TCP_INFO_BYTES_ACKED)[0]
    return acked


def _unsent(sock: socket.socket) -> int:
    """Bytes written and not yet acknowledged by the peer's TCP (SIOCOUTQ)."""
    try:
        unsent: int = struct.unpack("=i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except (OSError, ValueError):
        return 0
    return unsent


def _discard_incoming(sock: socket.socket) -> None:
    """Read what the peer sent (TLS 1.3 session tickets): closing a socket with unread data sends RST,
    and a RST makes the peer drop what it had not read yet."""
    with contextlib.suppress(OSError, ValueError):
        sock.settimeout(0.0)
        for _ in range(64):
            if not sock.recv(65536):
                return


def _peer_closed(sock: socket.socket, *, timeout: float) -> bool:
    """True when the peer sent EOF, an alert or a reset. A syslog server never sends data otherwise."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return False
    readable, _, _ = select.select([sock], [], [], timeout)
    if not readable:
        return False
    previous = sock.gettimeout()
    try:
        sock.settimeout(0.0)
        return sock.recv(1) == b""
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except (OSError, ssl.SSLError):
        return True
    finally:
        sock.settimeout(previous)
