"""A real syslog-over-TCP server (plain or mutual TLS) that records what a sender delivered, for assertions.

Receiving threads only split the stream into raw frames; parsing waits until a test asks (`frames()`), so the
receiver keeps up with fast senders (>500k frames/s on loopback) and a throughput test measures the sender.

It can fail the way a relay does: `stall()` stops reading (a GC pause, a slow disk) so the kernel's buffers fill
with bytes its TCP acknowledged, and `crash()` dies with bytes still unread, which are lost with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import ssl
import struct
import termios
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.support.certs import Pki
from tests.support.syslog_framing import Frame, FrameSplitter, GzipUnwrapper, frame_text, parse_frame

__all__ = ["Frame", "ServerTls", "SyslogReceiver"]

_POLL_SECONDS = 0.1  # how quickly blocked accept/recv calls notice stop()
_HANDSHAKE_SECONDS = 10.0
_RECV_BYTES = 256 * 1024
_THROTTLED_RECV_BYTES = 4096
_PARKED_POLL_SECONDS = 0.002  # how often a stalled reader looks whether it may read again
_PARK_WAIT_SECONDS = 10.0  # stall(), crash(): how long readers may take to stop reading


@dataclass(frozen=True)
class ServerTls:
    """Files for a TLS listener that requires client certificates signed by `client_ca`."""

    cert: Path
    key: Path
    client_ca: Path

    @classmethod
    def from_pki(cls, pki: Pki) -> ServerTls:
        """The Pki's server certificate, trusting clients signed by its CA (not by the rogue CA)."""
        return cls(cert=pki.server.cert, key=pki.server.key, client_ca=pki.ca_chain)

    def context(self) -> ssl.SSLContext:
        """A server context: TLS 1.2+, client certificate REQUIRED and verified against `client_ca`.

        No TLS 1.3 session tickets: a client that never reads leaves them unread in its socket, and closing a
        socket with unread data sends RST, which throws away whatever this receiver had not read yet.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.num_tickets = 0
        context.load_cert_chain(self.cert, self.key)
        context.load_verify_locations(cafile=self.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
        return context


class _Counter:
    """A thread-safe event count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def increment(self) -> None:
        with self._lock:
            self._value += 1

    @property
    def value(self) -> int:
        with self._lock:
            return self._value


@dataclass(frozen=True)
class _Unfinished:
    """Bytes that are malformed whatever they contain: a stream's unterminated tail, or a note about it."""

    raw: bytes


class _Record:
    """The frames shared by all connection threads.

    Receiving threads only append raw frames (`add`); they are parsed lazily, in the reader's thread, when a
    test reads `frames()` or `malformed()`.
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()  # guards `received` and `_raw`; notified on every add
        self.received = 0
        self._raw: list[bytes | _Unfinished] = []
        self._parse_lock = threading.Lock()  # guards `_frames` and `_malformed`
        self._frames: list[Frame] = []
        self._malformed: list[str] = []

    def add(self, raw_frames: Sequence[bytes | _Unfinished]) -> None:
        """Append frames from one read of one connection (cheap: no parsing here)."""
        with self.changed:
            self._raw.extend(raw_frames)
            self.received += len(raw_frames)
            self.changed.notify_all()

    def frames(self) -> list[Frame]:
        with self._parse_lock:
            self._catch_up()
            return list(self._frames)

    def malformed(self) -> list[str]:
        with self._parse_lock:
            self._catch_up()
            return list(self._malformed)

    def _catch_up(self) -> None:
        """Parse every raw frame received so far into `_frames` or `_malformed`."""
        with self.changed:
            pending, self._raw = self._raw, []
        for raw in pending:
            frame = None if isinstance(raw, _Unfinished) else parse_frame(raw)
            if frame is not None:
                self._frames.append(frame)
            else:
                self._malformed.append(frame_text(raw.raw if isinstance(raw, _Unfinished) else raw))


class SyslogReceiver:
    """Accepts syslog over TCP on 127.0.0.1; keeps every frame, well-formed or not, in arrival order.

    Frames may be LF-terminated or octet-counted on the same connection; with `gzip_stream=True` each
    connection's whole byte stream is gzip (one or more members). `stop()` closes everything and joins every
    thread; `crash()` closes everything without reading what is waiting; `start()` again listens on the same port
    and keeps what was already received (outage and crash tests).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        tls: ServerTls | None = None,
        gzip_stream: bool = False,
        read_pause_seconds: float = 0.0,
        receive_buffer_bytes: int | None = None,
    ) -> None:
        self._port = port
        self._receive_buffer_bytes = receive_buffer_bytes  # SO_RCVBUF, as a relay configured for bursts sets it
        self._read_pause_seconds = read_pause_seconds  # a slow receiver: small buffer, small reads, a pause after each
        self._tls_context = tls.context() if tls else None
        self._gzip_stream = gzip_stream
        self._record = _Record()
        self._connections_accepted = _Counter()
        self._connections_closed = _Counter()
        self._handshake_failures = _Counter()
        self._broken_streams = _Counter()
        self._stopping = threading.Event()
        self._stalled = threading.Event()  # readers read nothing while set
        self._crashed = False  # the last stop was a crash: an unfinished tail died with the process
        self._reading_lock = threading.Lock()  # guards `_reading` and `_parked`
        self._reading: set[socket.socket] = set()  # connections past their handshake, being read
        self._parked: set[socket.socket] = set()  # of those, the ones whose reader is stalled (not inside recv)
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> SyslogReceiver:
        """Listen (on the port of the previous start, if any) and accept in a background thread."""
        if self._listener is not None:
            raise RuntimeError("SyslogReceiver already started")
        self._stopping.clear()
        self._stalled.clear()
        self._crashed = False
        self._listener = socket.create_server(("127.0.0.1", self._port), backlog=64)
        if self._receive_buffer_bytes:  # before any connection: accepted sockets inherit it
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._receive_buffer_bytes)
        self._listener.settimeout(_POLL_SECONDS)
        self._port = self._listener.getsockname()[1]
        self._spawn(self._accept_loop, name=f"syslog-accept:{self._port}")
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and join all threads (within a few poll intervals)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        self._threads = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def stall(self) -> None:
        """Stop reading every connection (new ones too) until `resume()`: the kernel's receive buffers fill, and
        the sender's TCP sees its bytes acknowledged although this process has not read them. Returns once no
        reader is inside a read any more."""
        self._stalled.set()
        self._wait_until(self._all_parked, _PARK_WAIT_SECONDS, "readers did not stop reading")

    def resume(self) -> None:
        self._stalled.clear()

    def crash(self, *, unread_wait_seconds: float = 2.0) -> int:
        """Die as a crashed relay does: stop reading at once, then `shutdown(SHUT_RDWR)` and `close()` every accepted
        socket and the listener without reading what waits in them (Linux answers that with a reset). Waits up to
        `unread_wait_seconds` for unread bytes to be there, so a crash under load always cuts data in flight.

        Returns the bytes left unread in the accepted sockets: they are lost, as are those the sender's kernel still
        held. Frames already read stay recorded; `start()` listens again on the same port.
        """
        self.stall()
        self._wait_until(lambda: self.unread_bytes() > 0, unread_wait_seconds, None)
        with self._reading_lock:
            unread = sum(_unread(stream) for stream in self._reading)
            for stream in self._reading:
                _cut(stream)
        if self._listener is not None:
            _cut(self._listener)
        self._crashed = True
        self.stop()
        return unread

    def unread_bytes(self) -> int:
        """Bytes waiting unread in the kernel's receive buffers of the connections being read."""
        with self._reading_lock:
            return sum(_unread(stream) for stream in self._reading)

    def __enter__(self) -> SyslogReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # --- what arrived ---------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The listening port (the ephemeral one chosen at the first start when constructed with port=0)."""
        return self._port

    @property
    def received_count(self) -> int:
        """Frames received so far, well-formed and malformed."""
        with self._record.changed:
            return self._record.received

    def frames(self) -> list[Frame]:
        """A copy of the well-formed frames, in arrival order."""
        return self._record.frames()

    def malformed(self) -> list[str]:
        """A copy of the frames that are not RFC 3164 (raw text), in arrival order.

        Also holds the unfinished tail of a stream that closed mid-frame, and `<not a gzip stream: ...>` with
        the first bytes when a `gzip_stream` connection sent something else.
        """
        return self._record.malformed()

    def messages_by_tag(self) -> dict[str, list[str]]:
        """Well-formed messages grouped by tag, each list in arrival order."""
        grouped: dict[str, list[str]] = {}
        for frame in self.frames():
            grouped.setdefault(frame.tag, []).append(frame.message)
        return grouped

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until at least `count` frames (well-formed or malformed) arrived; False on timeout."""
        with self._record.changed:
            return self._record.changed.wait_for(lambda: self._record.received >= count, timeout)

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted, including those whose TLS handshake then failed."""
        return self._connections_accepted.value

    @property
    def connections_closed(self) -> int:
        """Connections finished (peer closed, stop(), rejected); everything they sent is recorded by then."""
        return self._connections_closed.value

    @property
    def handshake_failures(self) -> int:
        """TLS connections closed because the handshake failed (e.g. a client certificate from another CA)."""
        return self._handshake_failures.value

    @property
    def broken_streams(self) -> int:
        """Connections that ended mid-frame, mid-gzip-member, or with bytes that are not gzip."""
        return self._broken_streams.value

    # --- threads --------------------------------------------------------------------------------------------

    def _all_parked(self) -> bool:
        with self._reading_lock:
            return self._parked == self._reading

    def _wait_until(self, condition: Callable[[], bool], seconds: float, failure: str | None) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() >= deadline:
                if failure is not None:
                    raise RuntimeError(f"SyslogReceiver on {self._port}: {failure} within {seconds} s")
                return
            time.sleep(_PARKED_POLL_SECONDS)

    def _spawn(self, target: Callable[..., None], *, name: str, args: tuple[object, ...] = ()) -> None:
        """Start a thread that stop() will join."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        """Accept until stop(); each connection gets its own thread."""
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # crash() shut the listener down
                return
            self._connections_accepted.increment()
            connection.settimeout(_POLL_SECONDS)
            if self._read_pause_seconds:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _THROTTLED_RECV_BYTES)
            self._spawn(self._serve, name=f"syslog-conn:{self._port}<-{peer[1]}", args=(connection,))

    def _serve(self, connection: socket.socket) -> None:
        """Handshake if TLS, then read until the peer closes or stop(); the socket is always closed."""
        stream = self._handshake(connection) if self._tls_context else connection
        if stream is not None:
            with stream:
                with self._reading_lock:
                    self._reading.add(stream)
                try:
                    self._read(stream)
                finally:
                    with self._reading_lock:
                        self._reading.discard(stream)
                        self._parked.discard(stream)
        self._connections_closed.increment()

    def _handshake(self, connection: socket.socket) -> ssl.SSLSocket | None:
        """Wrap in TLS and finish the handshake; None when the client is rejected, too slow, or we stop.

        Rejections and timeouts count as handshake failures; being interrupted by stop() does not.
        """
        assert self._tls_context is not None
        tls = self._tls_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        deadline = time.monotonic() + _HANDSHAKE_SECONDS
        while not self._stopping.is_set():
            try:
                tls.do_handshake()
                return tls
            except TimeoutError:
                if time.monotonic() < deadline:
                    continue
                self._handshake_failures.increment()
            except (ssl.SSLError, OSError):
                self._handshake_failures.increment()
            break
        tls.close()
        return None

    def _read(self, stream: socket.socket) -> None:
        """Receive, gunzip if asked, split into frames and record them, including an unfinished tail."""
        splitter = FrameSplitter()
        unwrapper = GzipUnwrapper() if self._gzip_stream else None
        chunk = _THROTTLED_RECV_BYTES if self._read_pause_seconds else _RECV_BYTES
        while not self._stopping.is_set():
            if self._stalled.is_set():
                self._park(stream)
                continue
            if self._read_pause_seconds:
                time.sleep(self._read_pause_seconds)
            try:
                data = stream.recv(chunk)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                plain = unwrapper.feed(data) if unwrapper else data
            except zlib.error:
                self._record.add([_Unfinished(b"<not a gzip stream: " + data[:64] + b">")])
                self._broken_streams.increment()
                return
            self._record.add(splitter.feed(plain))
        if not self._crashed:  # a crashed process's unfinished frame dies with it
            self._record_unfinished(splitter.finish(), mid_member=unwrapper is not None and unwrapper.mid_member)

    def _park(self, stream: socket.socket) -> None:
        """Read nothing while stalled (or until stopped); `crash()` may close `stream` meanwhile."""
        with self._reading_lock:
            self._parked.add(stream)
        while self._stalled.is_set() and not self._stopping.is_set():
            time.sleep(_PARKED_POLL_SECONDS)
        with self._reading_lock:
            self._parked.discard(stream)

    def _record_unfinished(self, tail: bytes, *, mid_member: bool) -> None:
        """Keep a partial last frame as malformed and count a stream that did not end cleanly."""
        if tail:
            self._record.add([_Unfinished(tail)])
        if tail or mid_member:
            self._broken_streams.increment()


def _unread(sock: socket.socket) -> int:
    """Bytes in the kernel's receive buffer (FIONREAD); 0 once the socket is closed."""
    with contextlib.suppress(OSError, ValueError):
        unread: int = struct.unpack("=i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
        return unread
    return 0


def _cut(sock: socket.socket) -> None:
    """shutdown(SHUT_RDWR) then close, reading nothing: with unread bytes, the peer gets a reset."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
