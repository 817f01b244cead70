"""The tracker settles each message exactly once: delivered when sealed and every batch is safe, failed as soon as
a batch fails, is overdue, or is lost with the output process. The byte budget follows every batch."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from devo_sqs.ingest.budget import ByteBudget
from devo_sqs.ingest.handover import OutputGone
from devo_sqs.ingest.settlement import Outcome
from devo_sqs.ingest.tracker import BatchFailed, InFlight, MessageTracker, Stage
from devo_sqs.messages import Ack, Verdict

Settled = list[tuple[str, Outcome, str]]


def message(n: int) -> dict[str, Any]:
    return {
        "MessageId": f"m{n}",
        "ReceiptHandle": f"r{n}",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "2"},
    }


def tracked(budget_bytes: int = 1000) -> tuple[MessageTracker, Settled, ByteBudget]:
    settled: Settled = []
    budget = ByteBudget(budget_bytes)

    def settle(inflight: InFlight, outcome: Outcome, exc: BaseException | None) -> None:
        settled.append((inflight.message_id, outcome, type(exc).__name__ if exc else ""))

    return MessageTracker(settle=settle, budget=budget), settled, budget


def handed(tracker: MessageTracker, budget: ByteBudget, inflight: InFlight, batch_id: int, size: int = 100) -> None:
    assert budget.acquire(size, timeout=0)
    tracker.hand_over(inflight, batch_id, size=size, on_acked=None)


def test_a_received_message_carries_its_receive_count_and_waits_for_a_puller() -> None:
    tracker, _, _ = tracked()
    inflight = tracker.receive(message(1), visibility_seconds=60)
    assert (inflight.receive_count, inflight.stage, inflight.body) == (2, Stage.RECEIVED, "{}")
    assert tracker.in_hand() == [inflight]


def test_a_message_is_delivered_only_when_sealed_and_every_batch_is_safe() -> None:
    tracker, settled, budget = tracked()
    inflight = tracker.receive(message(1), visibility_seconds=60)
    tracker.start(inflight)
    handed(tracker, budget, inflight, 1)
    handed(tracker, budget, inflight, 2)
    tracker.acknowledge(Ack(1, Verdict.DELIVERED))
    tracker.acknowledge(Ack(2, Verdict.SPOOLED))
    assert settled == []
    tracker.seal(inflight)
    assert settled == [("m1", Outcome.DELIVERED, "")]
    assert (tracker.in_hand(), budget.used_bytes) == ([], 0)


def test_acknowledgements_after_sealing_deliver_the_message_once() -> None:
    tracker, settled, budget = tracked()
    inflight = tracker.receive(message(1), visibility_seconds=60)
    handed(tracker, budget, inflight, 5)
    tracker.seal(inflight)
    assert tracker.count(Stage.SEALED) == 1
    tracker.acknowledge(Ack(5, Verdict.DELIVERED))
    tracker.acknowledge(Ack(5, Verdict.DELIVERED))
    assert settled == [("m1", Outcome.DELIVERED, "")]
    assert tracker.count(Stage.SEALED) == 0


def test_a_message_without_batches_is_delivered_when_sealed() -> None:
    tracker, settled, _ = tracked()
    tracker.seal(tracker.receive(message(1), visibility_seconds=60))
    assert settled == [("m1", Outcome.DELIVERED, "")]


def test_a_failed_batch_fails_its_message_at_once_and_later_acks_only_advance_checkpoints() -> None:
    tracker, settled, budget = tracked()
    advanced: list[int] = []
    inflight = tracker.receive(message(1), visibility_seconds=60)
    for batch_id in (1, 2):
        assert budget.acquire(100, timeout=0)
        tracker.hand_over(inflight, batch_id, size=100, on_acked=lambda n=batch_id: advanced.append(n))
    tracker.acknowledge(Ack(1, Verdict.FAILED))
    assert settled == [("m1", Outcome.RETRYABLE, "BatchFailed")]
    assert inflight.settled and isinstance(inflight.failure, BatchFailed)
    tracker.acknowledge(Ack(2, Verdict.DELIVERED))
    tracker.seal(inflight)
    assert settled == [("m1", Outcome.RETRYABLE, "BatchFailed")]
    assert (advanced, budget.used_bytes) == ([2], 0)


def test_a_batch_not_settled_by_its_deadline_fails_its_message() -> None:
    tracker, settled, budget = tracked()
    slow, quick = (tracker.receive(message(n), visibility_seconds=60) for n in (1, 2))
    handed(tracker, budget, slow, 1)
    slow.pending[1].at -= 100
    handed(tracker, budget, quick, 2)
    tracker.fail_overdue(50)
    assert settled == [("m1", Outcome.RETRYABLE, "BatchOverdue")]
    assert budget.used_bytes == 100
    tracker.acknowledge(Ack(1, Verdict.DELIVERED))  # too late: ignored
    assert budget.used_bytes == 100
    assert tracker.in_hand() == [quick]


def test_losing_the_output_process_fails_every_waiting_message_once_and_frees_the_budget() -> None:
    tracker, settled, budget = tracked()
    first, second, idle = (tracker.receive(message(n), visibility_seconds=60) for n in (1, 2, 3))
    handed(tracker, budget, first, 1)
    handed(tracker, budget, first, 2)
    handed(tracker, budget, second, 3)
    assert tracker.fail_all(OutputGone("gone")) == 2
    assert sorted(settled) == [("m1", Outcome.RETRYABLE, "OutputGone"), ("m2", Outcome.RETRYABLE, "OutputGone")]
    assert (budget.used_bytes, tracker.in_hand()) == (0, [idle])


def test_a_settled_message_is_never_settled_again() -> None:
    tracker, settled, _ = tracked()
    inflight = tracker.receive(message(1), visibility_seconds=60)
    tracker.seal(inflight)
    assert not tracker.fail(inflight, Outcome.PERMANENT, ValueError("late"))
    assert settled == [("m1", Outcome.DELIVERED, "")]


def test_room_for_a_receive_counts_the_messages_not_yet_sealed_and_the_receives_under_way() -> None:
    tracker, _, budget = tracked()
    waiting, working, sealed = (tracker.receive(message(n), visibility_seconds=60) for n in (1, 2, 3))
    tracker.start(working)
    tracker.start(sealed)
    handed(tracker, budget, sealed, 1)
    tracker.seal(sealed)
    assert (tracker.count(Stage.RECEIVED), tracker.count(Stage.STARTED), tracker.count(Stage.SEALED)) == (1, 1, 1)
    assert tracker.reserve(4, 10, 0) == 0  # room for 2, not 10, and a message still waits for a puller
    assert tracker.reserve(4, 2, 0) == 2
    assert tracker.reserve(5, 1, 0) == 1
    assert tracker.reserve(5, 1, 0) == 0
    tracker.unreserve(3)
    tracker.fail(waiting, Outcome.STOPPED, None)
    assert tracker.reserve(2, 10, 0) == 1  # less than asked: nothing else is on its way to the pullers


def test_a_receive_waiting_for_room_wakes_when_the_last_waiting_message_is_taken() -> None:
    tracker, _, _ = tracked()
    waiting = tracker.receive(message(1), visibility_seconds=60)
    threading.Timer(0.05, lambda: tracker.start(waiting)).start()
    assert tracker.reserve(3, 10, 10) == 2


def test_waiting_for_a_batch_ends_when_it_is_acknowledged() -> None:
    tracker, _, budget = tracked()
    inflight = tracker.receive(message(1), visibility_seconds=60)
    handed(tracker, budget, inflight, 1)
    assert not tracker.wait_settled(1, 0.01)
    threading.Timer(0.05, lambda: tracker.acknowledge(Ack(1, Verdict.DELIVERED))).start()
    assert tracker.wait_settled(1, 10)


def test_a_batch_counts_as_settled_only_once_its_checkpoint_was_recorded() -> None:
    """Else a puller could send the object's next batch while the checkpoint still stands before this one, and a
    crash then would send both again."""
    tracker, _, budget = tracked()
    inflight = tracker.receive(message(1), visibility_seconds=60)
    assert budget.acquire(10, timeout=0)
    seen_by_puller: list[bool] = []

    def record_checkpoint() -> None:
        seen_by_puller.append(tracker.wait_settled(1, 0.2))

    tracker.hand_over(inflight, 1, size=10, on_acked=record_checkpoint)
    tracker.acknowledge(Ack(1, Verdict.DELIVERED))
    assert seen_by_puller == [False]
    assert tracker.wait_settled(1, 0)


def test_the_stall_clock_starts_with_the_first_message_in_hand() -> None:
    tracker, _, _ = tracked()
    tracker.last_settlement -= 1000
    tracker.receive(message(1), visibility_seconds=60)
    assert time.monotonic() - tracker.last_settlement < 100


@pytest.mark.parametrize("verdict", [Verdict.DELIVERED, Verdict.SPOOLED])
def test_a_checkpoint_that_cannot_be_recorded_does_not_stop_the_delivery(verdict: Verdict) -> None:
    tracker, settled, budget = tracked()
    inflight = tracker.receive(message(1), visibility_seconds=60)
    assert budget.acquire(10, timeout=0)

    def broken() -> None:
        raise OSError(27, "File too large")

    tracker.hand_over(inflight, 1, size=10, on_acked=broken)
    tracker.seal(inflight)
    tracker.acknowledge(Ack(1, verdict))
    assert settled == [("m1", Outcome.DELIVERED, "")]


def test_a_batch_within_its_deadline_is_left_alone() -> None:
    tracker, settled, budget = tracked()
    inflight = tracker.receive(message(1), visibility_seconds=60)
    handed(tracker, budget, inflight, 1)
    tracker.fail_overdue(50)
    assert (settled, budget.used_bytes, list(inflight.pending)) == ([], 100, [1])
