"""`cloudwatch_logs_processor`: CloudWatch Logs subscription payloads as Firehose writes them to S3.

Each payload is `{messageType, owner, logGroup, logStream, subscriptionFilters, logEvents: [{id, timestamp,
message}]}`, payloads back to back (one gzip member each; the decoder joins them). Every log event is one
record and its message text is sent exactly as CloudWatch holds it, newlines included. `CONTROL_MESSAGE`
payloads (Firehose health checks) are skipped without counting as failures.

For field mapping a record is `{logGroup, logStream, owner, id, timestamp, message}`; when the message text
is a JSON object (CloudTrail, Lambda JSON logs), that object is there too, as `json`: `keys: [json, eventName]`.
A Firehose HTTP endpoint request (`{"requestId", "records": [{"data": base64}]}`, each `data` a gzipped
payload) is unwrapped, so an archive of such requests reads like the S3 objects.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import zlib
from collections.abc import Iterator
from typing import Any

import orjson

from devo_sqs.config.processors import _Empty
from devo_sqs.processing.processors.base import json_sample
from devo_sqs.processing.processors.json_stream import json_values, value_spans
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import to_utf8

CONTROL_MESSAGE = "CONTROL_MESSAGE"
GZIP_MAGIC = b"\x1f\x8b"


class CloudwatchLogs:
    def __init__(self, config: _Empty, *, parse_records: bool) -> None:
        self.parse = parse_records

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        for payloads in json_values(chunks, ctx):
            records = Records([], [] if self.parse else None)
            for payload in payloads:
                self._add_payload(records, payload, ctx)
            yield from records.runs(ctx.limits.records_per_run)

    def _add_payload(self, records: Records, payload: Any, ctx: ObjectContext) -> None:
        if isinstance(payload, dict) and "logEvents" in payload:
            if payload.get("messageType") != CONTROL_MESSAGE:
                self._add_events(records, payload, ctx)
        elif isinstance(payload, dict) and isinstance(payload.get("records"), list):
            for inner in firehose_payloads(payload["records"], ctx):
                self._add_payload(records, inner, ctx)
        else:
            ctx.malformed("not a CloudWatch Logs payload", json_sample(payload))

    def _add_events(self, records: Records, payload: dict[str, Any], ctx: ObjectContext) -> None:
        events = payload["logEvents"]
        try:
            texts = [event["message"] for event in events]
            messages = [text.encode() for text in texts]
        except (TypeError, KeyError, AttributeError):
            events, texts, messages = _valid_events(events, ctx)
        records.messages.extend(messages)
        if records.parsed is not None:
            records.parsed.extend(_record(payload, event, text) for event, text in zip(events, texts, strict=True))


def _valid_events(events: Any, ctx: ObjectContext) -> tuple[list[Any], list[str], list[bytes]]:
    """The events that hold a message text; the others are counted as malformed."""
    kept: list[Any] = []
    for event in events if isinstance(events, list) else [events]:
        if isinstance(event, dict) and isinstance(event.get("message"), str):
            kept.append(event)
        else:
            ctx.malformed("a log event without a message text", json_sample(event))
    texts = [event["message"] for event in kept]
    return kept, texts, [text.encode() for text in texts]


def _record(payload: dict[str, Any], event: dict[str, Any], text: str) -> dict[str, Any]:
    record = {
        "logGroup": payload.get("logGroup"),
        "logStream": payload.get("logStream"),
        "owner": payload.get("owner"),
        "id": event.get("id"),
        "timestamp": event.get("timestamp"),
        "message": text,
    }
    if text.lstrip()[:1] == "{":
        with contextlib.suppress(orjson.JSONDecodeError):
            record["json"] = orjson.loads(text)
    return record


def firehose_payloads(firehose_records: list[Any], ctx: ObjectContext) -> Iterator[Any]:
    """The payloads inside a Firehose HTTP request's `records[].data` (base64, usually gzipped)."""
    for firehose_record in firehose_records:
        data = _decoded_data(firehose_record, ctx)
        if data is not None:
            for _, value in value_spans(to_utf8(data, ctx), ctx, final=True)[0]:
                yield value


def _decoded_data(firehose_record: Any, ctx: ObjectContext) -> bytes | None:
    try:
        data = base64.b64decode(firehose_record["data"], validate=True)
        return _gunzip(data, ctx.limits.max_record_bytes) if data.startswith(GZIP_MAGIC) else data
    except (TypeError, KeyError, binascii.Error, zlib.error, ValueError) as exc:
        ctx.malformed(f"undecodable Firehose record data ({exc})", json_sample(firehose_record))
        return None


def _gunzip(data: bytes, largest: int) -> bytes:
    """All gzip members of `data`, at most `largest` bytes of output (a larger one raises ValueError)."""
    parts: list[bytes] = []
    room = largest
    while data:
        if room <= 0:
            raise ValueError(f"gzip data larger than limits.max_record_bytes ({largest})")
        member = zlib.decompressobj(wbits=31)
        parts.append(member.decompress(data, room))
        room -= len(parts[-1])
        if member.unconsumed_tail or not member.eof:
            raise ValueError(f"gzip data larger than limits.max_record_bytes ({largest}) or truncated")
        data = member.unused_data
    return b"".join(parts)
