"""`dict_processor`: data that arrives as one JSON value (direct mode message bodies): an object is one
record, a list one record per element; a body that is not JSON is one text record. A body larger than
`limits.max_body_bytes` is one malformed record (it is parsed whole)."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from devo_sqs.config.processors import _Empty
from devo_sqs.processing.processors.base import json_records
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import to_utf8


def body_records(body: bytes, ctx: ObjectContext) -> Records:
    ctx.stats.bytes_read += len(body)
    largest = ctx.limits.max_body_bytes
    if len(body) > largest:
        ctx.malformed(f"a body of {len(body)} bytes, more than limits.max_body_bytes ({largest})", body[:80])
        return Records([], None)
    text = to_utf8(body.removeprefix(b"\xef\xbb\xbf"), ctx).strip()
    if not text:
        return Records([], None)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Records([text], None)
    return json_records(document if isinstance(document, list) else [document], ctx)


class DictProcessor:
    """The dict processor on an S3 object: the whole object is one body."""

    def __init__(self, config: _Empty, *, parse_records: bool) -> None:
        pass

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        largest = ctx.limits.max_body_bytes
        parts: list[bytes] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > largest:
                ctx.stats.bytes_read += size
                sample = (parts or [chunk])[0][:80]
                ctx.malformed(f"dict_processor input larger than limits.max_body_bytes ({largest})", sample)
                return
            parts.append(chunk)
        yield from body_records(b"".join(parts), ctx).runs(ctx.limits.records_per_run)
