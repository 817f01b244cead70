"""Which SQS messages are in hand, which batches each waits for, and when each is settled.

A message is in hand from its receive until it is settled, exactly once (settlement.py decides how). It is
delivered when it is sealed (every object read, every batch handed over) and every one of its batches was
acknowledged as delivered or spooled. It fails when one of its batches fails, is not settled within the batch
deadline, or is lost with the output process. At-least-once: a message that did not complete is never deleted.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devo_sqs.errors import RetryableError
from devo_sqs.ingest.budget import ByteBudget
from devo_sqs.ingest.settlement import Outcome
from devo_sqs.messages import Ack

log = logging.getLogger(__name__)


class Stage(enum.Enum):
    RECEIVED = "received"  # waiting for a puller
    STARTED = "started"  # a puller is reading what it announces
    SEALED = "sealed"  # every batch handed over; waiting for their acknowledgements


@dataclass(slots=True)
class Handed:
    """A batch handed to the output process."""

    size: int  # encoded bytes, held in the byte budget until the batch is settled
    at: float  # monotonic time of the hand-over, for the batch deadline
    on_acked: Callable[[], None] | None  # advances the object's checkpoint once the batch is safe


@dataclass(eq=False)
class InFlight:
    message_id: str
    receipt_handle: str
    receive_count: int
    body: str
    received_at: float = field(default_factory=time.monotonic)
    visible_until: float = 0.0  # monotonic time the current visibility timeout ends
    stage: Stage = Stage.RECEIVED
    pending: dict[int, Handed] = field(default_factory=dict)  # batch id -> batch not yet acknowledged
    last_batch: int | None = None  # handed over last: the next one waits until it is settled
    settled: bool = False  # the settlement was decided; nothing more is done for it
    failure: BaseException | None = None  # why it was settled before its puller finished with it
    source: str = ""  # what its puller is reading, for log lines


Settle = Callable[[InFlight, Outcome, "BaseException | None"], None]


class BatchFailed(RetryableError):
    """The output process could neither deliver nor spool a batch."""


class BatchOverdue(RetryableError):
    """A batch was not settled within the batch deadline."""


class MessageTracker:
    def __init__(self, *, settle: Settle, budget: ByteBudget) -> None:
        self._settle = settle
        self._budget = budget
        self._lock = threading.Lock()
        self._batch_settled = threading.Condition(self._lock)  # pullers waiting for their previous batch
        self._room = threading.Condition(self._lock)  # receivers waiting for room: woken one at a time
        self._messages: dict[str, InFlight] = {}  # receipt handle -> message in hand
        self._by_batch: dict[int, InFlight] = {}
        self._reserved = 0  # messages receives under way may bring
        self._in_stage = dict.fromkeys(Stage, 0)  # messages in hand per stage
        self._asked: tuple[int, int] | None = None  # (limit, wanted) of the last receiver that waited for room
        self.last_settlement = time.monotonic()

    # -- a message's life ------------------------------------------------------------------------------------

    def receive(self, message: dict[str, Any], *, visibility_seconds: int) -> InFlight:
        attributes = message.get("Attributes", {})
        inflight = InFlight(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
            body=message.get("Body", ""),
        )
        inflight.visible_until = inflight.received_at + visibility_seconds
        with self._lock:
            if not self._messages:  # the stall clock starts with the first message in hand
                self.last_settlement = time.monotonic()
            self._messages[inflight.receipt_handle] = inflight
            self._in_stage[Stage.RECEIVED] += 1
        return inflight

    def start(self, inflight: InFlight) -> None:
        with self._lock:
            self._move(inflight, Stage.STARTED)
            self._offer_room()  # a receive may wait until no message waits for a puller

    def hand_over(self, inflight: InFlight, batch_id: int, *, size: int, on_acked: Callable[[], None] | None) -> None:
        """Register a batch of the message (its bytes already taken from the budget)."""
        with self._lock:
            inflight.pending[batch_id] = Handed(size, time.monotonic(), on_acked)
            inflight.last_batch = batch_id
            self._by_batch[batch_id] = inflight

    def seal(self, inflight: InFlight) -> None:
        """Every batch of the message was handed over; it is delivered once they are all acknowledged."""
        with self._lock:
            self._move(inflight, Stage.SEALED)
            self._offer_room()
            done = not inflight.pending and self._claim(inflight)
        if done:
            self._settle(inflight, Outcome.DELIVERED, None)

    def fail(self, inflight: InFlight, outcome: Outcome, exc: BaseException | None) -> bool:
        """Settle the message as `outcome`, unless it already was; True when this call settled it."""
        with self._lock:
            claimed = self._claim(inflight)
            if claimed:
                inflight.failure = exc
        if claimed:
            self._settle(inflight, outcome, exc)
        return claimed

    # -- acknowledgements and deadlines ----------------------------------------------------------------------

    def acknowledge(self, ack: Ack) -> None:
        if ack.settled:
            self._record_delivery(ack.batch_id)
        with self._lock:
            inflight = self._by_batch.pop(ack.batch_id, None)
            handed = inflight.pending.pop(ack.batch_id, None) if inflight else None
            if inflight is None or handed is None:
                return
            self._budget.release(handed.size)
            self.last_settlement = time.monotonic()
            delivered = ack.settled and inflight.stage is Stage.SEALED and not inflight.pending
            done = delivered and self._claim(inflight)
            self._batch_settled.notify_all()
        if not ack.settled:
            self.fail(inflight, Outcome.RETRYABLE, BatchFailed(f"batch {ack.batch_id} could not be delivered"))
        elif done:
            self._settle(inflight, Outcome.DELIVERED, None)

    def fail_overdue(self, deadline_seconds: float) -> None:
        """Fail the messages of batches handed over more than `deadline_seconds` ago and still not settled."""
        horizon = time.monotonic() - deadline_seconds
        with self._lock:
            overdue = [(batch_id, m) for batch_id, m in self._by_batch.items() if m.pending[batch_id].at < horizon]
            for batch_id, _ in overdue:
                self._forget(batch_id)
        for batch_id, inflight in overdue:
            reason = f"batch {batch_id} not settled within {deadline_seconds:.0f} s"
            self.fail(inflight, Outcome.RETRYABLE, BatchOverdue(reason))

    def fail_all(self, exc: BaseException) -> int:
        """Fail every message waiting for a batch (the output process is gone: no acknowledgement will come)."""
        with self._lock:
            waiting = {id(m): m for m in self._by_batch.values()}
            for batch_id in list(self._by_batch):
                self._forget(batch_id)
        for inflight in waiting.values():
            self.fail(inflight, Outcome.RETRYABLE, exc)
        return len(waiting)

    def wait_settled(self, batch_id: int, timeout: float) -> bool:
        """Block until `batch_id` is settled or forgotten; False on timeout."""
        with self._batch_settled:
            return self._batch_settled.wait_for(lambda: batch_id not in self._by_batch, timeout)

    # -- what is in hand -------------------------------------------------------------------------------------

    def in_hand(self) -> list[InFlight]:
        with self._lock:
            return list(self._messages.values())

    def count(self, *stages: Stage) -> int:
        with self._lock:
            return sum(self._in_stage[stage] for stage in stages)

    def reserve(self, limit: int, wanted: int, timeout: float) -> int:
        """Room for a receive: wait until `wanted` more messages fit under `limit` (those not yet sealed, and those
        reserved by receives under way), or until some fit and none is on its way to a puller. Reserves and returns
        how many (0 on timeout); `unreserve` gives them back once the receive returned."""
        with self._room:
            self._asked = (limit, wanted)
            if not self._room.wait_for(lambda: self._room_for(limit, wanted), timeout):
                return 0
            taken = min(self._free(limit), wanted)
            self._reserved += taken
            self._offer_room()  # room enough for another receiver, too
            return taken

    def unreserve(self, count: int) -> None:
        with self._room:
            self._reserved -= count
            self._offer_room()

    # -- internals -------------------------------------------------------------------------------------------

    def _record_delivery(self, batch_id: int) -> None:
        """Advance the object's checkpoint before the batch counts as settled: the puller hands over the object's
        next batch only then, so a crash never finds two of its batches sent beyond what the checkpoint says."""
        with self._lock:
            inflight = self._by_batch.get(batch_id)
            handed = inflight.pending.get(batch_id) if inflight else None
        if handed is None or handed.on_acked is None:
            return
        try:
            handed.on_acked()
        except Exception:  # a checkpoint that cannot advance costs duplicates later, never this delivery
            log.exception("Could not record the delivery of batch %d", batch_id)

    # -- internals (under the lock) --------------------------------------------------------------------------

    def _claim(self, inflight: InFlight) -> bool:
        """Mark the message settled; False when it already was."""
        if inflight.settled:
            return False
        inflight.settled = True
        if self._messages.pop(inflight.receipt_handle, None) is not None:
            self._in_stage[inflight.stage] -= 1
        self.last_settlement = time.monotonic()
        self._offer_room()
        return True

    def _free(self, limit: int) -> int:
        return limit - self._in_stage[Stage.RECEIVED] - self._in_stage[Stage.STARTED] - self._reserved

    def _room_for(self, limit: int, wanted: int) -> bool:
        free = self._free(limit)
        return free >= wanted or (free > 0 and not (self._reserved or self._in_stage[Stage.RECEIVED]))

    def _offer_room(self) -> None:
        """Wake one receiver waiting for room, once there is as much as it asked for (not at every freed slot)."""
        if self._asked is not None and self._room_for(*self._asked):
            self._room.notify()

    def _move(self, inflight: InFlight, stage: Stage) -> None:
        if not inflight.settled:
            self._in_stage[inflight.stage] -= 1
            self._in_stage[stage] += 1
        inflight.stage = stage

    def _forget(self, batch_id: int) -> None:
        inflight = self._by_batch.pop(batch_id)
        handed = inflight.pending.pop(batch_id)
        self._budget.release(handed.size)
        self._batch_settled.notify_all()
