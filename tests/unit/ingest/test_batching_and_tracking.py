"""Batches are bounded; a message completes only when sealed and every batch is acknowledged."""

from __future__ import annotations

from devo_sqs.ingest.batching import BatchBuilder
from devo_sqs.ingest.tracker import InFlight, MessageTracker
from devo_sqs.messages import Ack, Batch


def builder(emitted: list[Batch], *, max_records: int = 3, max_bytes: int = 1 << 20) -> BatchBuilder:
    return BatchBuilder(
        kind="standard",
        source="s3://b/k",
        max_records=max_records,
        max_bytes=max_bytes,
        max_age_seconds=60,
        emit=lambda batch, _segments: emitted.append(batch),
    )


def test_batches_hold_at_most_max_records_and_keep_order_inside_each_tag() -> None:
    emitted: list[Batch] = []
    batches = builder(emitted)
    batches.add("a.b", [b"1", b"2"])
    batches.add("c.d", [b"3", b"4", b"5", b"6"])
    batches.add("a.b", [b"7"])
    batches.flush()
    assert [batch.groups for batch in emitted] == [
        [("a.b", [b"1", b"2"]), ("c.d", [b"3"])],
        [("c.d", [b"4", b"5", b"6"])],
        [("a.b", [b"7"])],
    ]
    assert len({batch.batch_id for batch in emitted}) == 3


def test_batches_are_cut_by_bytes_after_each_run_and_empty_flushes_emit_nothing() -> None:
    emitted: list[Batch] = []
    batches = builder(emitted, max_records=100, max_bytes=10)
    batches.flush()
    batches.add("a.b", [b"12345", b"67890"])
    batches.add("a.b", [b"x"])
    batches.flush()
    assert [batch.groups for batch in emitted] == [[("a.b", [b"12345", b"67890"])], [("a.b", [b"x"])]]


def tracked() -> tuple[MessageTracker, list[InFlight]]:
    completed: list[InFlight] = []
    return MessageTracker(on_complete=completed.append), completed


def test_a_message_completes_only_after_it_is_sealed_and_all_batches_are_acked() -> None:
    tracker, completed = tracked()
    inflight = tracker.open("m1", "r1", receive_count=1, visibility_seconds=60)
    tracker.add_batch(inflight, 1)
    tracker.add_batch(inflight, 2)
    tracker.acknowledge(Ack(1, spooled=False))
    tracker.acknowledge(Ack(2, spooled=True))
    assert completed == []
    tracker.seal(inflight)
    assert completed == [inflight]
    assert inflight.spooled


def test_acks_arriving_after_sealing_complete_the_message_once() -> None:
    tracker, completed = tracked()
    inflight = tracker.open("m1", "r1", receive_count=1, visibility_seconds=60)
    tracker.add_batch(inflight, 5)
    tracker.seal(inflight)
    assert tracker.waiting() == 1
    tracker.acknowledge(Ack(5, spooled=False))
    tracker.acknowledge(Ack(5, spooled=False))
    assert completed == [inflight]
    assert tracker.waiting() == 0


def test_a_message_without_batches_completes_when_sealed() -> None:
    tracker, completed = tracked()
    inflight = tracker.open("m1", "r1", receive_count=1, visibility_seconds=60)
    tracker.seal(inflight)
    assert completed == [inflight]


def test_an_abandoned_message_never_completes() -> None:
    tracker, completed = tracked()
    inflight = tracker.open("m1", "r1", receive_count=1, visibility_seconds=60)
    tracker.add_batch(inflight, 9)
    tracker.abandon(inflight)
    tracker.acknowledge(Ack(9, spooled=False))
    assert completed == []
    assert tracker.in_flight() == []
