"""Handing batches over: only the previous batch of the same message is waited for, the byte budget bounds what is
in flight, and every wait ends - at a stop, when the message was settled, when the output is gone, at the deadline."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from devo_sqs.ingest.budget import ByteBudget
from devo_sqs.ingest.handover import Abandoned, Handover, Interrupted, OutputGone, OutputLink
from devo_sqs.ingest.settlement import Outcome
from devo_sqs.ingest.tracker import BatchOverdue, InFlight, MessageTracker
from devo_sqs.messages import Ack, Batch, Verdict, decode_batch, encode_batch


def batch(batch_id: int) -> Batch:
    return Batch(batch_id, "standard", "test", [("my.app.t", [b"%d" % n for n in range(10)])])


SIZE = len(encode_batch(batch(1)))  # every batch here encodes to as many bytes


def message(n: int) -> dict[str, Any]:
    return {"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": "{}"}


class Rig:
    def __init__(self, *, budget_bytes: int = 10_000, deadline_seconds: float = 30.0) -> None:
        self.settled: list[tuple[str, Outcome]] = []
        self.budget = ByteBudget(budget_bytes)
        self.tracker = MessageTracker(settle=lambda m, o, _: self.settled.append((m.message_id, o)), budget=self.budget)
        self.link = OutputLink(self.tracker)
        self.handover = Handover(
            tracker=self.tracker, budget=self.budget, link=self.link, deadline_seconds=deadline_seconds
        )
        self.stopping = threading.Event()

    def receive(self, n: int) -> InFlight:
        return self.tracker.receive(message(n), visibility_seconds=60)

    def emit(self, inflight: InFlight, batch_id: int) -> None:
        self.handover.emit(inflight, batch(batch_id), on_acked=lambda: None, stopping=self.stopping.is_set)

    def handed_ids(self) -> list[int]:
        ids = []
        while not self.handover.outbox.empty():
            batch_id, payload = self.handover.outbox.get_nowait()
            assert decode_batch(payload).batch_id == batch_id
            ids.append(batch_id)
        return ids


def test_batches_of_different_messages_are_handed_over_without_waiting() -> None:
    rig = Rig()
    for n in (1, 2, 3):
        rig.emit(rig.receive(n), n)
    assert rig.handed_ids() == [1, 2, 3]


def test_the_next_batch_of_a_message_waits_until_its_previous_one_is_settled() -> None:
    rig = Rig()
    inflight = rig.receive(1)
    rig.emit(inflight, 1)
    threading.Timer(0.2, lambda: rig.tracker.acknowledge(Ack(1, Verdict.DELIVERED))).start()
    rig.emit(inflight, 2)
    assert rig.handed_ids() == [1, 2]
    assert inflight.pending.keys() == {2}


def test_a_message_settled_while_its_puller_waits_is_abandoned() -> None:
    rig = Rig()
    inflight = rig.receive(1)
    rig.emit(inflight, 1)
    threading.Timer(0.2, lambda: rig.tracker.acknowledge(Ack(1, Verdict.FAILED))).start()
    with pytest.raises(Abandoned):
        rig.emit(inflight, 2)
    assert rig.settled == [("m1", Outcome.RETRYABLE)]
    assert rig.handed_ids() == [1]


def test_a_stop_interrupts_a_waiting_puller() -> None:
    rig = Rig()
    inflight = rig.receive(1)
    rig.emit(inflight, 1)
    threading.Timer(0.2, rig.stopping.set).start()
    with pytest.raises(Interrupted):
        rig.emit(inflight, 2)


def test_a_puller_never_waits_for_an_output_process_that_is_gone() -> None:
    rig = Rig()
    first, second = rig.receive(1), rig.receive(2)
    rig.emit(first, 1)
    threading.Timer(0.2, lambda: rig.link.lost("the acknowledgement pipe ended")).start()
    with pytest.raises(OutputGone):
        rig.emit(first, 2)
    with pytest.raises(OutputGone):
        rig.emit(second, 3)
    assert rig.settled == [("m1", Outcome.RETRYABLE)]


def test_the_byte_budget_holds_back_new_batches_until_room_is_made() -> None:
    rig = Rig(budget_bytes=2 * SIZE + SIZE // 2)
    rig.emit(rig.receive(1), 1)
    rig.emit(rig.receive(2), 2)
    threading.Timer(0.2, lambda: rig.tracker.acknowledge(Ack(1, Verdict.DELIVERED))).start()
    rig.emit(rig.receive(3), 3)  # waits for batch 1
    assert rig.handed_ids() == [1, 2, 3]
    assert rig.budget.used_bytes == 2 * SIZE


def test_a_batch_bigger_than_the_whole_budget_passes_alone() -> None:
    rig = Rig(budget_bytes=SIZE // 2)
    rig.emit(rig.receive(1), 1)
    assert (rig.handed_ids(), rig.budget.used_bytes) == ([1], SIZE)


def test_no_room_within_the_deadline_fails_the_hand_over() -> None:
    rig = Rig(budget_bytes=SIZE, deadline_seconds=0.3)
    rig.emit(rig.receive(1), 1)
    with pytest.raises(BatchOverdue, match="no room to hand a batch over within 0 s"):
        rig.emit(rig.receive(2), 2)
