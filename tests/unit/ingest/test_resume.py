"""Resume through the real pieces, without endpoints: a pipeline makes spans, the batch builder cuts them into
batches, some batches are acknowledged (in any order), and the delivery state says where a restarted collector
resumes, under a changed filter and routing template."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson

from devo_sqs.config.models import Service
from devo_sqs.ingest.batching import BatchBuilder, Segment
from devo_sqs.messages import Batch, ObjectIdentity
from devo_sqs.persistence.state import Checkpoint, DeliveryState
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.records import ObjectContext

KINDS = ("login", "logout", "purchase", "error")
OBJECT = ObjectIdentity(bucket="logs", key="app/part-0.json", size=4096, etag="e1")


def lines(count: int) -> list[bytes]:
    """NDJSON records; every seventh line is not JSON (a malformed record, which still takes a position)."""
    return [
        b"not json %d" % n if n % 7 == 3 else orjson.dumps({"n": n, "kind": KINDS[n % 4], "user": f"u{n % 3}"})
        for n in range(count)
    ]


def service(*, template: str, dropped: list[str]) -> ServicePipeline:
    definition: dict[str, Any] = {
        "encoding": "none",
        "file_format": {"type": "line_split_processor", "config": {"json": True}},
        "record_field_mapping": {"kind": {"keys": ["kind"]}, "user": {"keys": ["user"]}},
        "line_filter_rules": [[{"source": "record", "key": "kind", "type": "in", "value": dropped}]],
        "routing_template": template,
    }
    return ServicePipeline("app", Service.model_validate(definition), sqs_values={})


FIRST = service(template="my.app.[record-kind]", dropped=["error"])
SECOND = service(template="my.v2.[record-user].[record-kind]", dropped=["error", "logout"])


def selected(pipeline: ServicePipeline, data: list[bytes]) -> list[tuple[int, str, bytes]]:
    """(position, tag, message) of every record `pipeline` sends, one record at a time."""
    chosen = []
    for position, line in enumerate(data):
        ctx = ObjectContext(source="one line")
        chosen += [
            (position, tag, message)
            for tag, messages in pipeline.run(io.BytesIO(line), "k", ctx)
            for message in messages
        ]
    return chosen


def collect(
    pipeline: ServicePipeline, data: list[bytes], checkpoint: Checkpoint, *, max_records: int
) -> list[tuple[Batch, list[Segment]]]:
    emitted: list[tuple[Batch, list[Segment]]] = []
    builder = BatchBuilder(
        kind="standard",
        source="s3://logs/app/part-0.json",
        max_records=max_records,
        max_bytes=1 << 20,
        max_age_seconds=60,
        emit=lambda batch, segments: emitted.append((batch, segments)),
    )
    builder.begin_object(checkpoint)
    ctx = ObjectContext(source="s3://logs/app/part-0.json")
    raw = io.BytesIO(b"\n".join(data) + b"\n")
    for span in pipeline.spans(raw, "app/part-0.json", ctx, resume_at=checkpoint.resume_at, max_records=max_records):
        builder.add_span(span)
    builder.flush()
    checkpoint.finished(builder.end_object())
    return emitted


def acknowledge(batches: list[tuple[Batch, list[Segment]]]) -> None:
    for _, segments in batches:
        for segment in segments:
            segment.checkpoint.acknowledged(segment.start, segment.end)


def sent(batches: list[tuple[Batch, list[Segment]]]) -> set[tuple[str, bytes]]:
    return {(tag, message) for batch, _ in batches for tag, messages in batch.groups for message in messages}


def test_a_changed_filter_and_template_resume_at_the_first_record_not_delivered(tmp_path: Path) -> None:
    data = lines(60)
    state = DeliveryState(tmp_path / "state")
    first = state.checkpoint(OBJECT, fingerprint=FIRST.fingerprint)
    assert first is not None
    batches = collect(FIRST, data, first, max_records=5)
    delivered = [batches[4], batches[1], batches[0], batches[2], batches[6]]  # batch 3 (and 5) never confirmed
    acknowledge(delivered)
    state.close()

    restarted = DeliveryState(tmp_path / "state")
    second = restarted.checkpoint(OBJECT, fingerprint=SECOND.fingerprint)
    assert second is not None
    resume_at = second.resume_at
    assert resume_at == batches[2][1][-1].end == batches[3][1][0].start > 0
    again = collect(SECOND, data, second, max_records=5)

    before, after = selected(FIRST, data[:resume_at]), selected(SECOND, data)
    assert {(tag, message) for _, tag, message in before} <= sent(delivered)
    resent = [(tag, message) for batch, _ in again for tag, messages in batch.groups for message in messages]
    # The object is one run of records holding 9 malformed ones, whose places in it are not known: on resume,
    # a record is left out only when it lies before the resume point wherever those were.
    valid = [position for position, line in enumerate(data) if not line.startswith(b"not json")]
    first_sent = valid[resume_at - 9]
    assert sorted(resent) == sorted((tag, message) for position, tag, message in after if position >= first_sent)
    assert first_sent < resume_at
    messages_of_second = {message for _, _, message in after}
    assert messages_of_second <= {message for _, message in sent(delivered) | sent(again)}  # nothing it selects lost
    acknowledge(again)
    assert restarted.checkpoint(OBJECT, fingerprint=SECOND.fingerprint) is None


def test_spans_of_a_pipeline_tile_the_sequence_with_filtered_and_malformed_records_in_it() -> None:
    data = lines(60)
    ctx = ObjectContext(source="x")
    spans = list(FIRST.spans(io.BytesIO(b"\n".join(data)), "k", ctx, max_records=4))
    assert [span.start for span in spans] == [0] + [span.end for span in spans[:-1]]
    assert spans[-1].end == 60
    assert all(sum(len(messages) for _, messages in span.runs) <= 4 for span in spans)
    assert (ctx.stats.records, ctx.stats.sent, ctx.stats.filtered, ctx.stats.failed) == (51, 39, 12, 9)
