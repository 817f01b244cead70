"""A sender that talks to nothing, for tests of the delivery thread (as dramatiq's StubBroker stands in for a broker).

It keeps what it was asked to send, in order, and acknowledges only what the test says; the test can close the
connection under it (as a receiver that dies does), refuse connections (a receiver that is down) or make the next
send raise anything. Safe to drive from the test's thread while a delivery thread uses it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from devo_sqs.messages import TagGroup
from devo_sqs.output.senders.base import OutputError


class StubSender:
    description = "stub"

    def __init__(self, *, replays: bool = True) -> None:
        self.replays = replays
        self._lock = threading.Lock()
        self._open = False
        self._marks = 0
        self._acked = 0  # the highest mark acknowledged on the current connection
        self._connection_marks: list[int] = []  # marks sent on the current connection
        self._refusing = False
        self._broken = False
        self._next_error: BaseException | None = None
        self.expired = False  # set by a test: the delivery thread recycles the connection once all is acknowledged
        self.sent: list[Sequence[TagGroup]] = []  # every batch written, in order, across connections
        self.last_send_bytes = 0  # the bytes of the last batch's messages
        self.connections = 0  # connections opened
        self.graceful_closes = 0
        self.acknowledgement_reads: list[int] = []  # what `acknowledged()` returned, each value once in a row

    # -- the Sender protocol -------------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open

    def send(self, groups: Sequence[TagGroup], *, timestamp: bytes) -> int:
        with self._lock:
            if self._next_error is not None:
                error, self._next_error = self._next_error, None
                raise error
            self._raise_if_broken()
            if not self._open:
                if self._refusing:
                    raise OutputError("stub: connection refused")
                self._open, self._acked, self._connection_marks = True, self._marks, []
                self.connections += 1
            self._marks += 1
            self._connection_marks.append(self._marks)
            self.sent.append(groups)
            self.last_send_bytes = sum(len(message) for _, messages in groups for message in messages)
            return self._marks

    def acknowledged(self) -> int:
        with self._lock:
            self._raise_if_broken()
            if self.acknowledgement_reads[-1:] != [self._acked]:
                self.acknowledgement_reads.append(self._acked)
            return self._acked

    def close(self) -> None:
        with self._lock:
            if self._open:
                self.graceful_closes += 1
            self._open, self.expired = False, False

    # -- what a test does to it --------------------------------------------------------------------------------

    def acknowledge(self, count: int | None = None) -> None:
        """The receiver acknowledges the next `count` batches of this connection (all of them when None)."""
        with self._lock:
            waiting = [mark for mark in self._connection_marks if mark > self._acked]
            if waiting:
                self._acked = waiting[-1] if count is None else waiting[min(count, len(waiting)) - 1]

    def break_connection(self) -> None:
        """The receiver dies: the next send or check finds the connection closed; nothing more is acknowledged."""
        with self._lock:
            self._broken = self._open

    def refuse(self, refusing: bool = True) -> None:
        """While refusing, opening a connection fails (the receiver is down)."""
        with self._lock:
            self._refusing = refusing

    def fail_next_send(self, error: BaseException) -> None:
        with self._lock:
            self._next_error = error

    def _raise_if_broken(self) -> None:
        if self._broken:
            self._broken, self._open = False, False
            raise OutputError("stub: connection closed by the peer")
