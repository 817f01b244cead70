"""Batches are bounded by records and bytes, keep the order of each tag, and settle whole ranges of an object's
record sequence."""

from __future__ import annotations

from pathlib import Path

from devo_sqs.ingest.batching import BatchBuilder, Segment
from devo_sqs.messages import Batch, ObjectIdentity
from devo_sqs.persistence.state import DeliveryState
from devo_sqs.processing.sequence import Span


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


def spans_builder(emitted: list[tuple[Batch, list[Segment]]], *, max_records: int) -> BatchBuilder:
    return BatchBuilder(
        kind="standard",
        source="s3://b/k",
        max_records=max_records,
        max_bytes=1 << 20,
        max_age_seconds=60,
        emit=lambda batch, segments: emitted.append((batch, segments)),
    )


def test_a_span_never_straddles_two_batches_and_each_batch_settles_whole_ranges(tmp_path: Path) -> None:
    emitted: list[tuple[Batch, list[Segment]]] = []
    state = DeliveryState(tmp_path)
    checkpoint = state.checkpoint(ObjectIdentity(bucket="b", key="k", size=1, etag="e"), fingerprint="f")
    assert checkpoint is not None
    batches = spans_builder(emitted, max_records=4)
    batches.begin_object(checkpoint)
    batches.add_span(Span(0, 3, [("a.b", [b"0"]), ("c.d", [b"2"])]))  # position 1 filtered out
    batches.add_span(Span(3, 6, [("a.b", [b"3", b"5"]), ("c.d", [b"4"])]))  # does not fit: the next batch
    batches.add_span(Span(6, 7, []))  # filtered out: settled with the open batch
    batches.add_span(Span(7, 8, [("c.d", [b"7"])]))
    batches.flush()
    assert batches.end_object() == 8
    assert [(batch.groups, [(s.start, s.end) for s in segments]) for batch, segments in emitted] == [
        ([("a.b", [b"0"]), ("c.d", [b"2"])], [(0, 3)]),
        ([("a.b", [b"3", b"5"]), ("c.d", [b"4", b"7"])], [(3, 8)]),
    ]
    for segment in emitted[1][1]:
        checkpoint.acknowledged(segment.start, segment.end)
    assert checkpoint.resume_at == 0  # the first batch is not confirmed yet
    for segment in emitted[0][1]:
        checkpoint.acknowledged(segment.start, segment.end)
    assert checkpoint.resume_at == 8


def test_a_span_with_nothing_to_send_and_no_open_batch_is_settled_at_once(tmp_path: Path) -> None:
    emitted: list[tuple[Batch, list[Segment]]] = []
    checkpoint = DeliveryState(tmp_path).checkpoint(ObjectIdentity("b", "k", 1, "e"), fingerprint="f")
    assert checkpoint is not None
    batches = spans_builder(emitted, max_records=4)
    batches.begin_object(checkpoint)
    batches.add_span(Span(0, 5, []))
    assert (emitted, checkpoint.resume_at) == ([], 5)
