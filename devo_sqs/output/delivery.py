"""One delivery thread per output connection: frame batches, write them, confirm them, retry on failure.

A batch is confirmed only after a later check finds the connection still alive; until then it stays
"unconfirmed" and is written again on the next connection if this one breaks (duplicates over loss).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

from devo_sqs.backoff import Backoff
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import Batch
from devo_sqs.output.framing import Framer, syslog_timestamp
from devo_sqs.output.senders.base import OutputError, Sender

log = logging.getLogger(__name__)

CONFIRM_AFTER_SECONDS = 0.02
IDLE_POLL_SECONDS = 0.5


@dataclass(slots=True)
class Written:
    batch: Batch
    payload: bytes
    at: float


class DeliveryThread(Worker):
    def __init__(
        self,
        *,
        name: str,
        sender: Sender,
        framer: Framer,
        channel: queue.Queue[Batch],
        on_confirmed: Callable[[Batch], None],
        on_abandoned: Callable[[Batch], None],
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name)
        self.sender = sender
        self.channel = channel
        self._framer = framer
        self._on_confirmed = on_confirmed
        self._on_abandoned = on_abandoned
        self._backoff = backoff or Backoff()
        self._unconfirmed: list[Written] = []
        self.reconnects = 0

    @property
    def idle(self) -> bool:
        return not self._unconfirmed

    def work(self) -> None:
        log.info("Starting thread (output %s)", self.sender.description)
        while True:
            try:
                batch = self.channel.get(timeout=CONFIRM_AFTER_SECONDS if self._unconfirmed else IDLE_POLL_SECONDS)
            except queue.Empty:
                self._confirm()
                if self.stopping and not self._unconfirmed:
                    return
                continue
            self._deliver(batch)

    def close(self) -> None:
        for written in self._unconfirmed:
            self._on_abandoned(written.batch)
        self._unconfirmed.clear()
        self.sender.close()

    def frame(self, batch: Batch) -> bytes:
        timestamp = syslog_timestamp()
        return b"".join(self._framer.frame_run(tag, messages, timestamp=timestamp) for tag, messages in batch.groups)

    def _deliver(self, batch: Batch) -> None:
        payload = self.frame(batch)
        while True:
            try:
                self.sender.write(payload)
            except OutputError as exc:
                if not self._retry_after(exc):
                    self._on_abandoned(batch)
                    return
                continue
            self._unconfirmed.append(Written(batch, payload, time.monotonic()))
            self._backoff.reset()
            self._confirm()
            return

    def _confirm(self) -> None:
        """Confirm what was written long enough ago on a connection that is still alive."""
        if not self._unconfirmed:
            return
        try:
            self.sender.check_alive()
        except OutputError as exc:
            self._resend_unconfirmed(exc)
            return
        horizon = time.monotonic() - CONFIRM_AFTER_SECONDS
        while self._unconfirmed and self._unconfirmed[0].at <= horizon:
            self._on_confirmed(self._unconfirmed.pop(0).batch)

    def _resend_unconfirmed(self, cause: OutputError) -> None:
        pending, self._unconfirmed = self._unconfirmed, []
        for index, written in enumerate(pending):
            while True:
                try:
                    self.sender.write(written.payload)
                    break
                except OutputError as exc:
                    if not self._retry_after(exc):
                        for abandoned in pending[index:]:
                            self._on_abandoned(abandoned.batch)
                        return
            self._unconfirmed.append(Written(written.batch, written.payload, time.monotonic()))
        log.info("Resent %d unconfirmed batch(es) after: %s", len(pending), cause)

    def _retry_after(self, exc: OutputError) -> bool:
        """Back off before the next attempt; False when stopping (the batch is then abandoned)."""
        delay = self._backoff.next_delay()
        self.reconnects += 1
        level = logging.WARNING if self._backoff.failures <= 3 or self._backoff.failures % 20 == 0 else logging.DEBUG
        log.log(level, "%s; attempt %d, retrying in %.1f s", exc, self._backoff.failures, delay)
        return not self.sleep(delay)
