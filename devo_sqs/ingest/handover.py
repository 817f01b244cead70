"""Batches go to the output process here, and its acknowledgements come back here.

A puller hands a batch over without waiting for the previous one of another message: only the previous batch of
the same message must be settled first (what bounds a crash's duplicates to one batch per object), and the bytes
in flight stay within the byte budget. No wait is without a deadline, and every wait also ends when the collector
stops, when the message was already settled (one of its batches failed), or when the output process is gone.

One thread writes the batch pipe and one reads the acknowledgement pipe, each the only user of its end. When either
pipe ends, the output process is gone: every batch waiting for it fails at once and its message is released.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

from devo_sqs.errors import DecodeError, RetryableError
from devo_sqs.ingest.budget import ByteBudget
from devo_sqs.ingest.tracker import BatchOverdue, InFlight, MessageTracker
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import Batch, decode_acks, encode_batch

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2


class Interrupted(Exception):
    """The collector is stopping while the message is half done; it is handed back to the queue."""


class Abandoned(Exception):
    """The message was settled while its puller still worked on it (one of its batches failed)."""


class OutputGone(RetryableError):
    """The output process exited or died; nothing handed to it will be acknowledged."""


class OutputLink:
    """The input side's view of the output process: gone once either pipe ends."""

    def __init__(self, tracker: MessageTracker) -> None:
        self._tracker = tracker
        self._gone = threading.Event()
        self._lock = threading.Lock()

    @property
    def gone(self) -> bool:
        return self._gone.is_set()

    def lost(self, why: str) -> None:
        with self._lock:
            if self._gone.is_set():
                return
            self._gone.set()
        failed = self._tracker.fail_all(OutputGone(f"the output process is gone ({why})"))
        log.error("The output process is gone (%s); %d message(s) waiting for it are released", why, failed)


class Handover:
    def __init__(
        self,
        *,
        tracker: MessageTracker,
        budget: ByteBudget,
        link: OutputLink,
        deadline_seconds: float,
        do_not_send: bool = False,
    ) -> None:
        self._tracker = tracker
        self._budget = budget
        self._link = link
        self._deadline_seconds = deadline_seconds
        self._do_not_send = do_not_send
        self.outbox: queue.Queue[tuple[int, bytes]] = queue.Queue()  # bounded by the byte budget

    def emit(
        self, inflight: InFlight, batch: Batch, *, on_acked: Callable[[], None], stopping: Callable[[], bool]
    ) -> None:
        """Hand `batch` of `inflight` to the output process. Raises Interrupted, Abandoned, OutputGone or
        BatchOverdue instead of waiting past its reason to wait."""
        if self._do_not_send:
            log.info("do_not_send: batch of %d record(s) from %s not sent", batch.record_count, batch.source)
            return
        payload = encode_batch(batch)
        deadline = time.monotonic() + self._deadline_seconds
        previous = inflight.last_batch
        if previous is not None:
            self._wait(inflight, deadline, stopping, lambda: self._tracker.wait_settled(previous, POLL_SECONDS))
        self._wait(
            inflight,
            deadline,
            stopping,
            lambda: self._budget.acquire(len(payload), timeout=POLL_SECONDS, cancelled=stopping),
        )
        self._tracker.hand_over(inflight, batch.batch_id, size=len(payload), on_acked=on_acked)
        self.outbox.put((batch.batch_id, payload))

    def _wait(
        self, inflight: InFlight, deadline: float, stopping: Callable[[], bool], ready: Callable[[], bool]
    ) -> None:
        while True:
            if self._link.gone:
                raise OutputGone("the output process is gone")
            if inflight.settled:
                raise Abandoned
            if stopping():
                raise Interrupted
            if ready():
                return
            if time.monotonic() >= deadline:
                raise BatchOverdue(f"no room to hand a batch over within {self._deadline_seconds:.0f} s")


class BatchWriter(Worker):
    """The only writer of the batch pipe."""

    def __init__(self, outbox: queue.Queue[tuple[int, bytes]], conn: Connection, link: OutputLink) -> None:
        super().__init__("BatchWriter")
        self._outbox = outbox
        self._conn = conn
        self._link = link

    def work(self) -> None:
        while True:
            try:
                _, payload = self._outbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if self.stopping:
                    return
                continue
            if self._link.gone:
                continue  # its message already failed with every other one waiting for the output
            try:
                self._conn.send_bytes(payload)
            except (OSError, ValueError) as exc:
                self._link.lost(f"the batch pipe broke: {exc}")


class AckReader(Worker):
    """The only reader of the acknowledgement pipe."""

    def __init__(self, conn: Connection, tracker: MessageTracker, link: OutputLink) -> None:
        super().__init__("AckReader")
        self._conn = conn
        self._tracker = tracker
        self._link = link

    def work(self) -> None:
        while not self.stopping and not self._link.gone:
            try:
                if not self._conn.poll(POLL_SECONDS):
                    continue
                payload = self._conn.recv_bytes()
            except (EOFError, OSError) as exc:
                self._link.lost(f"the acknowledgement pipe ended: {exc or 'EOF'}")
                return
            try:
                acks = decode_acks(payload)
            except DecodeError as exc:
                log.error("Undecodable acknowledgement from the output process: %s", exc)
                continue
            for ack in acks:
                self._tracker.acknowledge(ack)
