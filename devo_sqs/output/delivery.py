"""One delivery thread per output connection: frame batches, write them, confirm them, retry, spool.

A batch is confirmed only after a later check finds the connection still alive; until then it stays
"unconfirmed" and is written again on the next connection if this one breaks (duplicates over loss).
When the output stays down longer than its retry window (or the collector is draining), batches go to the
output's emergency spool instead, in order; they count as safe, and are replayed first once the output is back.
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
from devo_sqs.persistence.spool import Spool, SpoolFull

log = logging.getLogger(__name__)

CONFIRM_AFTER_SECONDS = 0.02
IDLE_POLL_SECONDS = 0.5
SPOOL_FULL_LOG_SECONDS = 60.0
PROBE_MAX_SECONDS = 5.0  # while an output is down, try it again at least this often


@dataclass(slots=True)
class Written:
    batch: Batch
    payload: bytes
    at: float


@dataclass(frozen=True)
class Outcomes:
    """Where a delivery thread reports each batch's fate."""

    confirmed: Callable[[Batch], None]  # delivered on a connection found alive afterwards
    spooled: Callable[[Batch], None]  # safe in emergency persistence
    abandoned: Callable[[Batch], None]  # neither: stopping while the output is down
    replayed: Callable[[Batch], None]  # a spooled batch delivered


class DeliveryThread(Worker):
    def __init__(
        self,
        *,
        name: str,
        sender: Sender,
        framer: Framer,
        channel: queue.Queue[Batch],
        outcomes: Outcomes,
        spool: Spool | None = None,
        retry_window_seconds: float = 10.0,
        draining: Callable[[], bool] = lambda: False,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name)
        self.sender = sender
        self.channel = channel
        self.spool = spool
        self._framer = framer
        self._outcomes = outcomes
        self._retry_window_seconds = retry_window_seconds
        self._draining = draining
        self._backoff = backoff or Backoff()
        self._probe = Backoff(first_seconds=self._backoff.first_seconds, max_seconds=PROBE_MAX_SECONDS)
        self._unconfirmed: list[Written] = []
        self._down_until = 0.0  # while the output is down: when to try it again
        self._spool_full_logged = 0.0
        self.reconnects = 0

    @property
    def output_down(self) -> bool:
        return self._down_until > 0.0

    def work(self) -> None:
        log.info("Starting thread (output %s)", self.sender.description)
        while True:
            if self._spool_waiting() and self._replay():
                continue
            try:
                batch = self.channel.get(timeout=CONFIRM_AFTER_SECONDS if self._unconfirmed else self._idle_poll())
            except queue.Empty:
                self._confirm()
                if self.stopping and not self._unconfirmed:
                    return
                continue
            if self._spool_waiting() or self.output_down:
                self._spool_or_wait(batch)
            else:
                self._deliver(batch)

    def close(self) -> None:
        for written in self._unconfirmed:
            self._outcomes.abandoned(written.batch)
        self._unconfirmed.clear()
        self.sender.close()

    def frame(self, batch: Batch) -> bytes:
        timestamp = syslog_timestamp()
        return b"".join(self._framer.frame_run(tag, messages, timestamp=timestamp) for tag, messages in batch.groups)

    # -- direct delivery -----------------------------------------------------------------------------------

    def _deliver(self, batch: Batch) -> None:
        pending = [Written(batch, self.frame(batch), 0.0)]
        first_failure: float | None = None
        while pending:
            try:
                self.sender.write(pending[0].payload)
            except OutputError as exc:
                first_failure = first_failure or time.monotonic()
                pending = self._take_unconfirmed() + pending
                if self._give_up(first_failure):
                    self._to_spool_or_abandon(pending, exc)
                    return
                self._wait_before_retry(exc)
                continue
            written = pending.pop(0)
            written.at = time.monotonic()
            self._unconfirmed.append(written)
        self._backoff.reset()
        self._confirm()

    def _confirm(self) -> None:
        """Confirm what was written long enough ago on a connection that is still alive."""
        if not self._unconfirmed:
            return
        try:
            self.sender.check_alive()
        except OutputError as exc:
            log.warning("%s; resending %d unconfirmed batch(es)", exc, len(self._unconfirmed))
            for written in self._take_unconfirmed():
                self._deliver_again(written)
            return
        horizon = time.monotonic() - CONFIRM_AFTER_SECONDS
        while self._unconfirmed and self._unconfirmed[0].at <= horizon:
            self._outcomes.confirmed(self._unconfirmed.pop(0).batch)

    def _deliver_again(self, written: Written) -> None:
        if self._spool_waiting() or self.output_down:
            self._spool_or_wait(written.batch)
        else:
            self._deliver(written.batch)

    def _take_unconfirmed(self) -> list[Written]:
        taken, self._unconfirmed = self._unconfirmed, []
        return taken

    def _give_up(self, first_failure: float) -> bool:
        """Stop retrying: the retry window passed, the collector is draining, or it is stopping."""
        return (
            self.stopping
            or self._draining()
            or (self.spool is not None and time.monotonic() - first_failure >= self._retry_window_seconds)
        )

    def _to_spool_or_abandon(self, pending: list[Written], cause: OutputError) -> None:
        if self.spool is None or self.stopping:
            for written in pending:
                self._outcomes.abandoned(written.batch)
            return
        log.error("%s; output down: %d batch(es) go to emergency persistence", cause, len(pending))
        self._mark_down()
        for written in pending:
            self._spool_or_wait(written.batch)

    def _wait_before_retry(self, exc: OutputError) -> None:
        delay = self._backoff.next_delay()
        self.reconnects += 1
        quiet = self._backoff.failures > 3 and self._backoff.failures % 20
        log.log(logging.DEBUG if quiet else logging.WARNING, "%s; retrying in %.1f s", exc, delay)
        self.sleep(delay)

    # -- emergency persistence ------------------------------------------------------------------------------

    def _spool_waiting(self) -> bool:
        return self.spool is not None and len(self.spool) > 0

    def _mark_down(self) -> None:
        self._down_until = time.monotonic() + self._probe.next_delay()

    def _idle_poll(self) -> float:
        if self.output_down:
            return max(0.05, min(IDLE_POLL_SECONDS, self._down_until - time.monotonic()))
        return IDLE_POLL_SECONDS

    def _spool_or_wait(self, batch: Batch) -> None:
        """Put `batch` in the spool; while the spool is full, keep trying to drain it into the output."""
        assert self.spool is not None
        while True:
            try:
                self.spool.push(batch)
                self._outcomes.spooled(batch)
                return
            except SpoolFull as exc:
                self._log_spool_full(exc)
                if self.stopping:
                    self._outcomes.abandoned(batch)
                    return
                if self._replay():
                    continue
                if not self._spool_waiting() and self._write_once(batch):
                    return
                self.sleep(1.0)

    def _write_once(self, batch: Batch) -> bool:
        """One direct attempt, for a batch the full spool cannot take; True when written."""
        if time.monotonic() < self._down_until:
            return False
        payload = self.frame(batch)
        try:
            self.sender.write(payload)
        except OutputError:
            self._mark_down()
            return False
        self._down_until = 0.0
        self._unconfirmed.append(Written(batch, payload, time.monotonic()))
        return True

    def _log_spool_full(self, exc: SpoolFull) -> None:
        if time.monotonic() - self._spool_full_logged >= SPOOL_FULL_LOG_SECONDS:
            self._spool_full_logged = time.monotonic()
            log.error("%s; collection waits until %s takes data again", exc, self.sender.description)

    def _replay(self) -> bool:
        """Send the oldest spooled batch; True when it was delivered (and removed from the spool)."""
        assert self.spool is not None
        if self.stopping or time.monotonic() < self._down_until:
            return False
        with self.spool.lock:
            batch = self.spool.peek()
            if batch is None:
                self._down_until = 0.0
                return False
            try:
                self.sender.write(self.frame(batch))
                self.sleep(CONFIRM_AFTER_SECONDS)
                self.sender.check_alive()
            except OutputError as exc:
                log.warning("%s; %d batch(es) stay in emergency persistence", exc, len(self.spool))
                self._mark_down()
                return False
            self.spool.drop_oldest()
        if self.output_down:
            log.info("%s is back; sending %d spooled batch(es) first", self.sender.description, len(self.spool) + 1)
        self._down_until = 0.0
        self._probe.reset()
        self._outcomes.replayed(batch)
        return True
