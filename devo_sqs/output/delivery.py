"""One delivery thread per output connection: send batches, confirm them by the sender's acknowledgements, send them
again after a break, spool them while the output is down.

States, each batch settled by whoever holds it:
- UP: batches are sent as they come; each is confirmed when the sender says the receiver acknowledged it (many per
  check, no fixed wait). Confirmed batches of a sender that `replays` (plain TCP/TLS) stay in the replay window.
- RETRYING: a send or an acknowledgement check failed (an abnormal close). The window and everything unconfirmed go
  first on the next connection, retried with backoff. A graceful close (recycling, stopping) sends nothing again.
- DOWN: retrying took longer than `retry_window_seconds` (at once while the collector drains): what is waiting, and
  every new batch, goes to the output's emergency spool, where it counts as settled; the output is probed at least
  every 5 s, and once it answers the spool is sent first, oldest first, each spooled batch removed when acknowledged.
A spool that cannot be written holds the batch (unsettled) and is retried, with one error line a minute; the output
is tried directly first once it answers. Nothing is ever dropped: a batch that can be neither delivered nor spooled
(an unexpected error, stopping while the output is down) is failed back to the input, which collects it again.
"""

from __future__ import annotations

import collections
import enum
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

from devo_sqs.backoff import Backoff
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import Batch
from devo_sqs.output.framing import syslog_timestamp
from devo_sqs.output.senders.base import OutputError, Sender
from devo_sqs.output.window import ReplayWindow
from devo_sqs.persistence.spool import Spool, SpoolFull

log = logging.getLogger(__name__)

ACK_POLL_SECONDS = 0.005
IDLE_POLL_SECONDS = 0.2
SPOOL_COMPLAINT_SECONDS = 60.0
SPOOL_RETRY_SECONDS = 1.0
PROBE_MAX_SECONDS = 5.0  # while an output is down, try it again at least this often
RECYCLE_WAIT_SECONDS = 5.0


class State(enum.Enum):
    UP = "up"
    RETRYING = "retrying"
    DOWN = "down"


@dataclass(frozen=True)
class Outcomes:
    """Where a delivery thread reports each batch's fate."""

    confirmed: Callable[[Batch], None]  # the receiver acknowledged it
    spooled: Callable[[Batch], None]  # safe in emergency persistence
    failed: Callable[[Batch], None]  # neither: its message is collected again
    replayed: Callable[[Batch], None]  # a spooled batch acknowledged
    resent: Callable[[Batch], None]  # a batch of the replay window sent again after an abnormal close


@dataclass(slots=True)
class Sent:
    """A batch on the current connection, not yet acknowledged."""

    batch: Batch
    mark: int
    settled: bool  # already settled upstream (a window batch sent again, or a spooled one)
    spool_key: int | None = None  # set for a batch replayed from the spool


class DeliveryThread(Worker):
    def __init__(
        self,
        *,
        name: str,
        sender: Sender,
        channel: queue.Queue[Batch],
        outcomes: Outcomes,
        spool: Spool | None = None,
        window: ReplayWindow | None = None,
        retry_window_seconds: float = 10.0,
        draining: Callable[[], bool] = lambda: False,
        hurry: Callable[[], bool] = lambda: False,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name)
        self.sender = sender
        self.channel = channel
        self.spool = spool
        self.window = window if window is not None and sender.replays else None
        self._outcomes = outcomes
        self._retry_window_seconds = retry_window_seconds
        self._draining = draining  # the collector is stopping: spool at the first failure instead of retrying
        self._hurry = hurry  # the collector stops at once: spool everything held instead of delivering it
        self._backoff = backoff or Backoff()
        self._probe = Backoff(first_seconds=self._backoff.first_seconds, max_seconds=PROBE_MAX_SECONDS)
        self.state = State.UP
        self._unconfirmed: collections.deque[Sent] = collections.deque()
        self._again: collections.deque[tuple[Batch, bool]] = collections.deque()  # (batch, settled) to send first
        self._held: collections.deque[Batch] = collections.deque()  # neither delivered nor spooled yet
        self._failing_since = 0.0
        self._outage_logged = False  # one error line per outage, not one per probe
        self._next_try = 0.0
        self._complained_at = -SPOOL_COMPLAINT_SECONDS
        self.spool_failing = False  # the spool refused a batch for another reason than being full
        self.reconnects = 0

    @property
    def output_down(self) -> bool:
        return self.state is State.DOWN

    def holding(self) -> int:
        """Batches this thread holds unsettled."""
        return (
            sum(1 for sent in self._unconfirmed if not sent.settled)
            + len(self._held)
            + sum(1 for _, settled in self._again if not settled)
        )

    # -- the loop ---------------------------------------------------------------------------------------------

    def work(self) -> None:
        log.info("Starting thread (output %s)", self.sender.description)
        while not self.stopping or (self.state is State.UP and not self._idle()):
            if self._hurry():
                self._spool_everything()
                return
            self._check_acknowledgements()
            if self.state is not State.UP:
                self._when_failing()
            elif self._again:
                self._send(*self._again.popleft())
            elif self._spool_waiting():
                self._replay_one()
            elif not self._recycle_if_due():
                self._take_and_send()

    def _idle(self) -> bool:
        return not (self._unconfirmed or self._again or self._held) and self.channel.empty()

    def _take_and_send(self) -> None:
        try:
            batch = self.channel.get(timeout=ACK_POLL_SECONDS if self._unconfirmed else IDLE_POLL_SECONDS)
        except queue.Empty:
            return
        self._send(batch, False)

    def _when_failing(self) -> None:
        """RETRYING or DOWN: keep what comes in safe, and try the output again when it is due."""
        if self._held:
            self._retry_held()
            return
        if self.state is State.DOWN:
            self._spool_incoming()
        if time.monotonic() >= self._next_try:
            self._try_again()
        else:
            self.sleep(min(IDLE_POLL_SECONDS, max(0.0, self._next_try - time.monotonic())))

    def _try_again(self) -> None:
        """Send the next waiting batch (or a spooled one) on a new connection; back UP when it goes out."""
        if self._again:
            batch, settled = self._again.popleft()
        elif self._spool_waiting():
            self.state = State.UP  # the replay is the probe: it fails back to DOWN when the output still refuses
            self._replay_one()
            return
        else:
            self.state = State.UP
            return
        self.state = State.UP
        self._send(batch, settled)

    # -- sending and confirming --------------------------------------------------------------------------------

    def _send(self, batch: Batch, settled: bool, spool_key: int | None = None) -> None:
        try:
            mark = self.sender.send(batch.groups, timestamp=syslog_timestamp())
        except OutputError as exc:
            self._broken(exc, first=(batch, settled), spool_key=spool_key)
            return
        self._unconfirmed.append(Sent(batch, mark, settled, spool_key))
        if self._failing_since and not self._again:
            self._recovered()

    def _check_acknowledgements(self) -> None:
        if not self._unconfirmed:
            if self.window is not None:
                self.window.trim()
            return
        try:
            acked = self.sender.acknowledged()
        except OutputError as exc:
            self._broken(exc)
            return
        while self._unconfirmed and self._unconfirmed[0].mark <= acked:
            self._acknowledged(self._unconfirmed.popleft())

    def _acknowledged(self, sent: Sent) -> None:
        if sent.spool_key is not None and self.spool is not None:
            self.spool.remove(sent.spool_key)
            self._outcomes.replayed(sent.batch)
        elif not sent.settled:
            self._outcomes.confirmed(sent.batch)
        if self.window is not None and sent.spool_key is None:
            self.window.keep(sent.batch, sent.batch.size_bytes)

    def _broken(
        self, exc: OutputError, *, first: tuple[Batch, bool] | None = None, spool_key: int | None = None
    ) -> None:
        """An abnormal close: the window and everything unconfirmed go again first, in order, on the next
        connection; spooled batches go back to the spool's order."""
        self._confirm_what_arrived()
        replay = self.window.take() if self.window is not None else []
        for batch in replay:
            self._outcomes.resent(batch)
        again: list[tuple[Batch, bool]] = [(batch, True) for batch in replay]
        for sent in self._unconfirmed:
            if sent.spool_key is not None and self.spool is not None:
                self.spool.unclaim(sent.spool_key)
            else:
                again.append((sent.batch, sent.settled))
        self._unconfirmed.clear()
        if spool_key is not None and self.spool is not None:
            self.spool.unclaim(spool_key)
        elif first is not None:
            again.append(first)
        self._again.extendleft(reversed(again))
        self._failed_attempt(exc, resending=len(again))

    def _confirm_what_arrived(self) -> None:
        """Acknowledgements read before the connection broke still count: those batches need not go again."""
        try:
            acked = self.sender.acknowledged()
        except OutputError:
            return
        while self._unconfirmed and self._unconfirmed[0].mark <= acked:
            self._acknowledged(self._unconfirmed.popleft())

    def _failed_attempt(self, exc: OutputError, *, resending: int) -> None:
        now = time.monotonic()
        self._failing_since = self._failing_since or now
        self.reconnects += 1
        if self.state is State.DOWN or self._give_up(now):
            self._go_down(exc)
            return
        self.state = State.RETRYING
        delay = self._backoff.next_delay()
        self._next_try = now + delay
        quiet = self._backoff.failures > 3 and self._backoff.failures % 20
        log.log(
            logging.DEBUG if quiet else logging.WARNING,
            "%s; retrying in %.1f s%s",
            exc,
            delay,
            f", sending {resending} batch(es) again first" if resending else "",
        )

    def _give_up(self, now: float) -> bool:
        """Stop retrying: the retry window passed, the collector is draining, or the thread is stopping."""
        if self.spool is None:
            return False
        return self.stopping or self._draining() or now - self._failing_since >= self._retry_window_seconds

    def _recovered(self) -> None:
        if self.reconnects:
            log.info("%s answers again", self.sender.description)
        self._outage_logged = False
        self._failing_since = 0.0
        self._backoff.reset()
        self._probe.reset()

    def _recycle_if_due(self) -> bool:
        """Close a connection past its maximum age once all it carried is acknowledged: nothing is sent again."""
        if not getattr(self.sender, "expired", False):
            return False
        deadline = time.monotonic() + RECYCLE_WAIT_SECONDS
        while self._unconfirmed and time.monotonic() < deadline and not self.stopping:
            self.sleep(ACK_POLL_SECONDS)
            self._check_acknowledgements()
        if self._unconfirmed:
            return False
        self.sender.close()
        if self.window is not None:
            self.window.clear()
        return True

    # -- emergency persistence ---------------------------------------------------------------------------------

    def _go_down(self, exc: OutputError) -> None:
        self._next_try = time.monotonic() + self._probe.next_delay()
        if not self._outage_logged:
            log.error("%s; output down: batches go to emergency persistence", exc)
            self._outage_logged = True
        self.state = State.DOWN
        while self._again:
            batch, settled = self._again.popleft()
            self._to_spool(batch, settled=settled)

    def _spool_incoming(self) -> None:
        try:
            batch = self.channel.get(timeout=IDLE_POLL_SECONDS)
        except queue.Empty:
            return
        self._to_spool(batch, settled=False)

    def _to_spool(self, batch: Batch, *, settled: bool) -> None:
        """Spool a batch (settled as spooled unless it already was); hold it when the spool cannot take it."""
        if self.spool is None:
            if not settled:
                self._outcomes.failed(batch)
            return
        try:
            self.spool.push(batch)
        except Exception as exc:
            if not settled:
                self._held.append(batch)
            self._spool_refused(exc)
            return
        self.spool_failing = False
        if not settled:
            self._outcomes.spooled(batch)

    def _retry_held(self) -> None:
        """A held batch goes out directly when the output answers, else into the spool when it takes it again."""
        if time.monotonic() >= self._next_try and not self._spool_waiting():
            self.state = State.UP
            self._send(self._held.popleft(), False)
            self.spool_failing = bool(self._held)  # nothing waits for the spool any more
            return
        batch = self._held.popleft()
        self._to_spool(batch, settled=False)
        if self._held or self.spool_failing:
            self.sleep(SPOOL_RETRY_SECONDS)

    def _spool_refused(self, exc: Exception) -> None:
        full = isinstance(exc, SpoolFull)
        self.spool_failing = not full
        if time.monotonic() - self._complained_at >= SPOOL_COMPLAINT_SECONDS:
            self._complained_at = time.monotonic()
            what = exc if full else f"emergency persistence cannot be written ({type(exc).__name__}: {exc})"
            log.error("%s; %d batch(es) held until %s takes data again", what, len(self._held), self.sender.description)

    def _spool_waiting(self) -> bool:
        return self.spool is not None and len(self.spool) > 0

    def _replay_one(self) -> None:
        """Send the oldest spooled batch no other thread is sending; it leaves the spool once acknowledged."""
        assert self.spool is not None
        claimed = self.spool.claim_oldest()
        if claimed is None:
            self._take_and_send()
            return
        key, batch = claimed
        if self._failing_since or self.state is not State.UP:
            log.info("%s answers; sending %d spooled batch(es) first", self.sender.description, len(self.spool))
        self._send(batch, True, spool_key=key)

    # -- stopping and failing ----------------------------------------------------------------------------------

    def _spool_everything(self) -> None:
        """A stop at once: what is unsettled goes to the spool (settled as spooled) rather than waiting for the
        output; what the spool refuses is failed back."""
        self._check_acknowledgements()
        waiting = [sent.batch for sent in self._unconfirmed if not sent.settled and sent.spool_key is None]
        waiting += [batch for batch, settled in self._again if not settled]
        waiting += list(self._held)
        for sent in self._unconfirmed:
            if sent.spool_key is not None and self.spool is not None:
                self.spool.unclaim(sent.spool_key)
        self._unconfirmed.clear()
        self._again.clear()
        self._held.clear()
        while True:
            try:
                waiting.append(self.channel.get_nowait())
            except queue.Empty:
                break
        for batch in waiting:
            self._to_spool(batch, settled=False)
        self._release_all(self._outcomes.failed)

    def recover(self) -> None:
        """After an unexpected error: fail back every batch held unsettled, and start over on a new connection."""
        self._release_all(self._outcomes.failed)

    def close(self) -> None:
        """Stopping: whatever is still unsettled is failed back (its message comes back to be collected)."""
        self._check_acknowledgements()
        self._release_all(self._outcomes.failed)
        self.sender.close()

    def _release_all(self, fail: Callable[[Batch], None]) -> None:
        for sent in self._unconfirmed:
            if sent.spool_key is not None and self.spool is not None:
                self.spool.unclaim(sent.spool_key)
            elif not sent.settled:
                fail(sent.batch)
        for batch, settled in self._again:
            if not settled:
                fail(batch)
        for batch in self._held:
            fail(batch)
        self._unconfirmed.clear()
        self._again.clear()
        self._held.clear()
        if self.window is not None:
            self.window.clear()
        self.state = State.UP
        self._failing_since = 0.0
        try:
            self.sender.close()
        except Exception:  # closing what already failed may fail again; nothing is held any more
            log.debug("Closing %s failed", self.sender.description, exc_info=True)
