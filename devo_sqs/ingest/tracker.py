"""Which SQS messages are in flight, which batches each is waiting for, and when each may be deleted.

This is where acks are decided: a message is complete only when it is sealed (every object read, every
batch handed over) and every one of its batches was acknowledged by the output process. At-least-once:
a message that is not complete is never deleted, so after a failure it is collected again (duplicates
over loss).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devo_sqs.messages import Ack


@dataclass(eq=False)
class InFlight:
    message_id: str
    receipt_handle: str
    receive_count: int
    received_at: float = field(default_factory=time.monotonic)
    visible_until: float = 0.0  # monotonic time the current visibility timeout ends
    pending: set[int] = field(default_factory=set)  # batch ids not yet acknowledged
    sealed: bool = False  # no more batches will come
    spooled: bool = False  # some batch is in emergency persistence rather than delivered
    on_batch_acked: dict[int, Callable[[Ack], None]] = field(default_factory=dict)


class MessageTracker:
    def __init__(self, *, on_complete: Callable[[InFlight], None]) -> None:
        self._on_complete = on_complete
        self._lock = threading.Lock()
        self._acked = threading.Condition(self._lock)
        self._messages: dict[str, InFlight] = {}
        self._by_batch: dict[int, InFlight] = {}

    def open(self, message_id: str, receipt_handle: str, *, receive_count: int, visibility_seconds: int) -> InFlight:
        inflight = InFlight(message_id, receipt_handle, receive_count)
        inflight.visible_until = inflight.received_at + visibility_seconds
        with self._lock:
            self._messages[receipt_handle] = inflight
        return inflight

    def add_batch(self, inflight: InFlight, batch_id: int, on_acked: Callable[[Ack], None] | None = None) -> None:
        with self._lock:
            inflight.pending.add(batch_id)
            self._by_batch[batch_id] = inflight
            if on_acked is not None:
                inflight.on_batch_acked[batch_id] = on_acked

    def seal(self, inflight: InFlight) -> None:
        """Every batch of the message was handed over; it completes when they are all acknowledged."""
        with self._lock:
            inflight.sealed = True
            done = not inflight.pending and self._messages.pop(inflight.receipt_handle, None) is not None
        if done:
            self._on_complete(inflight)

    def abandon(self, inflight: InFlight) -> None:
        """Forget the message without completing it: it stays in SQS and comes back."""
        with self._lock:
            self._messages.pop(inflight.receipt_handle, None)
            for batch_id in inflight.pending:
                self._by_batch.pop(batch_id, None)
            inflight.pending.clear()

    def acknowledge(self, ack: Ack) -> None:
        with self._lock:
            inflight = self._by_batch.pop(ack.batch_id, None)
            if inflight is None:
                return
            inflight.pending.discard(ack.batch_id)
            inflight.spooled |= ack.spooled
            callback = inflight.on_batch_acked.pop(ack.batch_id, None)
            done = inflight.sealed and not inflight.pending
            if done:
                self._messages.pop(inflight.receipt_handle, None)
            self._acked.notify_all()
        if callback is not None:
            callback(ack)
        if done:
            self._on_complete(inflight)

    def wait_acknowledged(self, batch_id: int, timeout: float) -> bool:
        """Block until `batch_id` is acknowledged (or forgotten with its message); False on timeout."""
        with self._acked:
            return self._acked.wait_for(lambda: batch_id not in self._by_batch, timeout)

    def in_flight(self) -> list[InFlight]:
        with self._lock:
            return list(self._messages.values())

    def waiting(self) -> int:
        """Sealed messages still waiting for acknowledgements."""
        with self._lock:
            return sum(1 for inflight in self._messages.values() if inflight.sealed)
