"""Processors for files that are one JSON document: `single_json_object_processor`, `json_array_processor`.

A document up to STREAM_ABOVE_BYTES is parsed whole with orjson (the fast path); a larger one has its list of
records streamed (big_documents), so memory stays bounded whatever the size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from devo_sqs.config.processors import SingleJsonObjectConfig, _Empty
from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.processors.base import dig, json_records, key_path
from devo_sqs.processing.processors.big_documents import stream_records
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import to_utf8

MAX_DOCUMENT_BYTES = 512 << 20
STREAM_ABOVE_BYTES = 16 << 20  # larger: streamed (big_documents); parsed whole, a document takes ~7x its size
RECORDS_PER_RUN = 1000


def read_head(chunks: Iterator[bytes], ctx: ObjectContext) -> tuple[list[bytes], bool]:
    """The document's first chunks, up to STREAM_ABOVE_BYTES; True when that is the whole document."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        ctx.stats.bytes_read += len(chunk)
        parts.append(chunk)
        if size > STREAM_ABOVE_BYTES:
            return parts, False
    return parts, True


def parse_document(parts: list[bytes], ctx: ObjectContext) -> Any:
    """A whole document parsed in one orjson call; None for an empty file. A file that is not one JSON
    document cannot be split into records at all: PermanentObjectError."""
    joined = b"".join(parts)
    parts.clear()
    data = to_utf8(joined.removeprefix(b"\xef\xbb\xbf"), ctx)
    if not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PermanentObjectError(f"not a JSON document: {exc}") from None


def in_runs(values: list[Any]) -> Iterator[Records]:
    for start in range(0, len(values), RECORDS_PER_RUN):
        yield json_records(values[start : start + RECORDS_PER_RUN])


class SingleJsonObject:
    """The file is one JSON document; `key` names the list of records in it (CloudTrail `Records`,
    Config `configurationItems`), `fallback_key` where they are when `key` is absent. Without `key` the
    document is the record."""

    def __init__(self, config: SingleJsonObjectConfig, *, parse_records: bool) -> None:
        self.path = key_path(config.key)
        self.fallback = key_path(config.fallback_key)

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        chunks = iter(chunks)
        head, whole = read_head(chunks, ctx)
        if not whole:
            yield from stream_records(head, chunks, ctx, path=self.path)
            return
        document = parse_document(head, ctx)
        if document is None:
            return
        found = dig(document, self.path)
        if found is None and self.fallback is not None:
            found = dig(document, self.fallback)
        if found is None:
            ctx.malformed(f"no {'.'.join(map(str, self.path or []))!r} in the document", orjson.dumps(document))
            return
        yield from in_runs(found if isinstance(found, list) else [found])


class JsonArray:
    """The file is a JSON array of records (a lone object counts as one record)."""

    def __init__(self, config: _Empty, *, parse_records: bool) -> None:
        pass

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        chunks = iter(chunks)
        head, whole = read_head(chunks, ctx)
        if not whole:
            yield from stream_records(head, chunks, ctx, path=None)
            return
        document = parse_document(head, ctx)
        if document is not None:
            yield from in_runs(document if isinstance(document, list) else [document])
