"""The RELP output: each record is one RELP `syslog` command to rsyslog's imrelp (or another RELP server), which
answers every frame. A batch counts as acknowledged once the server answered all its frames, and every frame sent
before them on the session, with 200. Marks number the batches across sessions; a broken session leaves its
unacknowledged batches to be sent again, whole, on the next one.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator, Sequence

from devo_sqs.config.models import RELP_WINDOW_FRAMES
from devo_sqs.output.framing import Framer
from devo_sqs.output.senders.base import OutputError
from devo_sqs.output.senders.relp_session import RelpSession

log = logging.getLogger(__name__)

CLOSE_WAIT_SECONDS = 5.0  # a graceful close waits this long for the answers still due


class RelpSender:
    """One RELP session at a time to `address:port`, opened on the first send and again after a break."""

    replays = False  # the relay acknowledges each frame once it has it: nothing acknowledged is lost with it

    def __init__(
        self,
        *,
        address: str,
        port: int,
        tls: ssl.SSLContext | None = None,
        window_frames: int = RELP_WINDOW_FRAMES,
        max_age_seconds: float = 3600.0,
        hostname: str | None = None,
    ) -> None:
        self.address = address
        self.port = port
        self.description = f"{address}:{port} ({'relp+tls' if tls else 'relp'})"
        self._tls = tls
        self._window_frames = window_frames
        self._max_age_seconds = max_age_seconds
        self._framer = Framer(hostname=hostname)
        self._session: RelpSession | None = None
        self._marks = 0  # the mark of the latest send; grows across sessions
        self._acknowledged = 0

    @property
    def is_open(self) -> bool:
        return self._session is not None

    def send(self, groups: Sequence[tuple[str, list[bytes]]], *, timestamp: bytes) -> int:
        """Write one batch, return its mark. OutputError: this batch and the unacknowledged ones are not delivered."""
        session = self._usable_session()
        try:
            session.write(self._messages(groups, timestamp), count=sum(len(messages) for _, messages in groups))
        except OutputError:
            self._drop(session)
            raise
        self._marks += 1
        session.ledger.end_batch(self._marks)
        self._collect(session)
        return self._marks

    def acknowledged(self) -> int:
        """The newest mark acknowledged together with every mark before it; reads only what has arrived."""
        if self._session is not None:
            self._check(self._session)
        return self._acknowledged

    def close(self) -> None:
        """Graceful: RELP `close`, wait briefly for the answers still due, close the socket."""
        session, self._session = self._session, None
        if session is not None:
            session.close(wait_seconds=CLOSE_WAIT_SECONDS)
            self._collect(session)

    def _usable_session(self) -> RelpSession:
        session = self._session
        if session is not None and self._check(session) and session.age_seconds > self._max_age_seconds:
            self._recycle(session)
        if self._session is None:
            self._session = RelpSession.connect(
                self.address, self.port, tls=self._tls, description=self.description, window_frames=self._window_frames
            )
        return self._session

    def _check(self, session: RelpSession) -> bool:
        """Read what the server sent; False (and dropped) when it ended the session with every frame answered.

        Raises OutputError when the session broke with frames unanswered: those batches are not delivered.
        """
        try:
            session.read_available()
        except OutputError:
            self._drop(session)
            raise
        self._collect(session)
        if not session.ended:
            return True
        self._drop(session)
        if session.ledger.in_flight:
            raise OutputError(
                f"{self.description}: {session.end_reason()} with {session.ledger.in_flight} frame(s) unanswered"
            )
        log.info("%s: %s; every frame was answered", self.description, session.end_reason())
        return False

    def _recycle(self, session: RelpSession) -> None:
        """An old session is closed gracefully; answers still missing after the wait make it a broken one."""
        self.close()
        if session.ledger.unacknowledged_batches():
            raise OutputError(
                f"{self.description}: recycled with {session.ledger.unacknowledged_batches()} batch(es) unanswered"
            )

    def _drop(self, session: RelpSession) -> None:
        self._collect(session)
        session.abort()
        if self._session is session:
            self._session = None

    def _collect(self, session: RelpSession) -> None:
        self._acknowledged = max(self._acknowledged, session.ledger.acknowledged_mark())

    def _messages(self, groups: Sequence[tuple[str, list[bytes]]], timestamp: bytes) -> Iterator[tuple[bytes, bytes]]:
        for tag, messages in groups:
            header = self._framer.header(tag, timestamp=timestamp)
            for message in messages:
                yield header, message
