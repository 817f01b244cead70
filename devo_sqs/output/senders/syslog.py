"""Syslog over TCP, optionally TLS (mutual TLS for Devo). One connection per sender.

Delivery is only as sure as TCP lets it be: a write that returns is not yet delivered. After the
handshake and before every confirmation the sender checks that the peer has not closed or rejected
the connection (with TLS 1.3 a rejected client certificate shows up only on a later read).
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import time
import zlib

from devo_sqs.output.senders.base import OutputError

CONNECT_TIMEOUT_SECONDS = 10.0
WRITE_TIMEOUT_SECONDS = 30.0
HANDSHAKE_PROBE_SECONDS = 0.25


def tls_context(*, chain: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    """Client context: verify the server against `chain` (system CAs without it), present cert/key."""
    context = ssl.create_default_context(cafile=chain)
    if cert:
        context.load_cert_chain(certfile=cert, keyfile=key)
    return context


class SyslogSender:
    def __init__(
        self,
        *,
        address: str,
        port: int,
        tls: ssl.SSLContext | None = None,
        compressed: bool = False,
        max_age_seconds: float = 3600.0,
    ) -> None:
        self.address = address
        self.port = port
        self.description = f"{address}:{port} ({'tls' if tls else 'tcp'})"
        self._tls = tls
        self._compressed = compressed
        self._max_age_seconds = max_age_seconds
        self._sock: socket.socket | None = None
        self._opened_at = 0.0
        self._compressor: zlib._Compress | None = None

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def write(self, payload: bytes) -> None:
        if self._sock is not None and time.monotonic() - self._opened_at > self._max_age_seconds:
            self.close()
        sock = self._sock or self._connect()
        if self._compressor is not None:
            payload = self._compressor.compress(payload) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        try:
            sock.sendall(payload)
        except (OSError, ValueError) as exc:
            self.close()
            raise OutputError(f"write to {self.description} failed: {exc}") from exc

    def check_alive(self) -> None:
        if self._sock is None:
            raise OutputError(f"{self.description}: not connected")
        if _peer_closed(self._sock, timeout=0.0):
            self.close()
            raise OutputError(f"{self.description}: connection closed by the peer")

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            if self._compressor is not None:  # end the gzip member, so the peer sees a whole stream
                with contextlib.suppress(OSError, ValueError):
                    sock.sendall(self._compressor.flush())
            _discard_incoming(sock)
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
        self._compressor = zlib.compressobj(wbits=31) if self._compressed else None
        return sock


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
