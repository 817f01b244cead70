"""Batches are bounded by records and bytes, and keep the order of each tag."""

from __future__ import annotations

from devo_sqs.ingest.batching import BatchBuilder
from devo_sqs.messages import Batch


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
