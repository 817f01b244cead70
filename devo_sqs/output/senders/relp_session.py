"""One RELP session on one non-blocking socket: connect, TLS handshake, `open`, syslog frames within a window of
unanswered ones, answers, `close`.

Frames go out in bounded chunks, never more than the window unanswered, and answers are read between and during
writes: a server blocked writing answers that nobody reads would stop reading frames, and both sides would wait
forever. Reading while writing, and a window that bounds the unread answers, rule that out.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from itertools import islice

from devo_sqs import __version__
from devo_sqs.output.relp_protocol import Ledger, ProtocolError, encode_frame, open_offers, syslog_frame
from devo_sqs.output.senders.base import OutputError

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024  # one write: many frames, bounded
RECEIVE_BYTES = 64 * 1024
CONNECT_TIMEOUT_SECONDS = 10.0
OPEN_TIMEOUT_SECONDS = 10.0
STALL_SECONDS = 30.0  # nothing written and nothing answered this long while frames wait: the session is broken
SOFTWARE = f"devo-sqs,{__version__}"
QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class RelpSession:
    """A connected, opened session; `ledger` tells what the server answered. Every failure is an OutputError."""

    def __init__(self, sock: socket.socket, *, description: str, window_frames: int) -> None:
        self.description = description
        self.ledger = Ledger()
        self.peer_closed = False  # the connection reached EOF
        self._sock = sock
        self._window_frames = window_frames
        self._refill_frames = max(1, window_frames // 4)  # write again once this much of the window is free
        self._opened_at = self._progress_at = time.monotonic()

    @classmethod
    def connect(
        cls, address: str, port: int, *, tls: ssl.SSLContext | None, description: str, window_frames: int
    ) -> RelpSession:
        """Connect, handshake (TLS), `open`; raises OutputError when any step fails."""
        session = cls(
            _connect(address, port, tls=tls, description=description),
            description=description,
            window_frames=window_frames,
        )
        try:
            session._write(_once(encode_frame(session.ledger.next_txnr(), b"open", open_offers(SOFTWARE))))
            if not session.wait_for(lambda: session.ledger.opened, timeout=OPEN_TIMEOUT_SECONDS):
                raise OutputError(
                    f"{description}: no answer to open ({session.end_reason() if session.ended else 'timeout'})"
                )
        except OutputError as exc:
            session.abort()
            hint = " (client certificate rejected?)" if tls else ""
            raise OutputError(f"{exc}; the session was not opened{hint}") from exc
        log.debug("%s: session open, server offers %s", description, session.ledger.server_offers)
        return session

    @property
    def ended(self) -> bool:
        return self.peer_closed or self.ledger.server_closing

    @property
    def age_seconds(self) -> float:
        return time.monotonic() - self._opened_at

    def end_reason(self) -> str:
        return (
            "the server closed the session (serverclose)"
            if self.ledger.server_closing
            else "the connection was closed by the server"
        )

    def write(self, messages: Iterator[tuple[bytes, bytes]], *, count: int) -> None:
        """Write one batch's `count` frames (header, message); return once written, not necessarily answered."""
        self._write(_Chunks(messages, count=count, session=self).next)

    def read_available(self) -> None:
        """Take every answer that has arrived, without waiting; OutputError when the session broke."""
        while not self.peer_closed:
            try:
                data = self._sock.recv(RECEIVE_BYTES)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except OSError as exc:  # ssl.SSLError included: a rejected certificate shows up here under TLS 1.3
                raise OutputError(f"{self.description}: connection broken: {exc}") from exc
            if not data:
                self.peer_closed = True
                return
            self._progress_at = time.monotonic()
            self._quick_ack()
            try:
                self.ledger.feed(data)
            except ProtocolError as exc:
                raise OutputError(f"{self.description}: {exc}") from exc

    def _quick_ack(self) -> None:
        """Acknowledge the server's bytes at once: librelp writes its answers with Nagle's algorithm on, so each
        answer waits for our TCP ack, and a delayed ack (40 ms) would pace a small window to a few thousand frames/s.
        Linux resets the option after a while, hence after every read."""
        if QUICKACK is not None:
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)

    def wait_for(self, done: Callable[[], bool], *, timeout: float) -> bool:
        """Read answers until `done()`, the session ends, or `timeout` passes; returns `done()`."""
        deadline = time.monotonic() + timeout
        while not done() and not self.ended:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if select.select([self._sock], [], [], remaining)[0]:
                self.read_available()
        return done()

    def close(self, *, wait_seconds: float) -> None:
        """`close` after every frame sent: its answer comes after all theirs. Then wait for the server's EOF."""
        try:
            if not self.ended:
                self._write(_once(encode_frame(self.ledger.close_txnr(), b"close")))
                if self.wait_for(lambda: self.ledger.close_answered, timeout=wait_seconds):
                    self.wait_for(lambda: self.ended, timeout=wait_seconds)
        except OutputError as exc:
            log.debug("%s: while closing: %s", self.description, exc)
        self.abort()

    def abort(self) -> None:
        try:
            self._sock.close()
        except OSError as exc:
            log.debug("%s: while closing the socket: %s", self.description, exc)

    def room(self, *, wanted: int) -> int:
        """How many frames may be written now: 0 until `wanted` or a quarter of the window is free (fewer, larger
        writes)."""
        room = self._window_frames - self.ledger.in_flight
        return room if room >= min(wanted, self._refill_frames) else 0

    def _write(self, refill: Callable[[], bytes | None]) -> None:
        """Write the chunks `refill` gives (b"": none now, None: done), reading answers all along."""
        pending = memoryview(b"")
        while True:
            if not pending:
                chunk = refill()
                if chunk is None:
                    return
                pending = memoryview(chunk)
            if self.ended:
                raise OutputError(f"{self.description}: {self.end_reason()} while writing")
            if time.monotonic() - self._progress_at > STALL_SECONDS:
                raise OutputError(
                    f"{self.description}: nothing written or answered for {STALL_SECONDS:.0f} s "
                    f"({self.ledger.in_flight} frame(s) unanswered)"
                )
            readable, writable, _ = select.select([self._sock], [self._sock] if pending else [], [], 1.0)
            if readable:
                self.read_available()
            if writable and not self.ended:
                pending = pending[self._send(pending) :]

    def _send(self, data: memoryview) -> int:
        try:
            written = self._sock.send(data)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return 0  # an SSL write is retried with the same bytes, as OpenSSL requires
        except OSError as exc:
            raise OutputError(f"{self.description}: write failed: {exc}") from exc
        if written:
            self._progress_at = time.monotonic()
        return written


class _Chunks:
    """A batch's frames in chunks that fit the session's window and CHUNK_BYTES, numbered as they are cut."""

    def __init__(self, messages: Iterator[tuple[bytes, bytes]], *, count: int, session: RelpSession) -> None:
        self._messages = messages
        self._left = count
        self._session = session

    def next(self) -> bytes | None:
        if not self._left:
            return None
        room = self._session.room(wanted=self._left)
        if not room:
            return b""
        ledger = self._session.ledger
        parts: list[bytes] = []
        size = 0
        for header, message in islice(self._messages, min(room, self._left)):
            frame = syslog_frame(ledger.next_txnr(), header, message)
            parts.append(frame)
            size += len(frame)
            if size >= CHUNK_BYTES:
                break
        self._left -= len(parts)
        return b"".join(parts)


def _once(frame: bytes) -> Callable[[], bytes | None]:
    """A chunk source that gives `frame`, then nothing."""
    frames = iter([frame])
    return lambda: next(frames, None)


def _connect(address: str, port: int, *, tls: ssl.SSLContext | None, description: str) -> socket.socket:
    try:
        raw = socket.create_connection((address, port), timeout=CONNECT_TIMEOUT_SECONDS)
    except OSError as exc:
        raise OutputError(f"cannot connect to {description}: {exc}") from exc
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = tls.wrap_socket(raw, server_hostname=address) if tls else raw
    except OSError as exc:
        raw.close()
        raise OutputError(f"TLS handshake with {description} failed: {exc}") from exc
    sock.setblocking(False)
    return sock
