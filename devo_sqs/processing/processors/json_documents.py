"""Processors for files that are one JSON document: `single_json_object_processor`, `json_array_processor`.

A document up to `limits.whole_document_bytes` is parsed whole with orjson (the fast path); a larger one is
walked as a stream (document_stream), so memory stays bounded whatever the size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from devo_sqs.config.processors import SingleJsonObjectConfig, _Empty
from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.processors.base import dig, json_records, json_sample, key_path
from devo_sqs.processing.processors.document_stream import Path, document_records
from devo_sqs.processing.processors.document_text import TextStream
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import counted, to_utf8, without_bom


def read_head(chunks: Iterator[bytes], ctx: ObjectContext) -> tuple[list[bytes], bool]:
    """The document's first chunks, up to `whole_document_bytes`; True when that is the whole document."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        parts.append(chunk)
        if size > ctx.limits.whole_document_bytes:
            return parts, False
    return parts, True


def parse_document(parts: list[bytes], ctx: ObjectContext) -> Any:
    """A whole document parsed in one orjson call; None for an empty file. A file that is not one JSON
    document cannot be split into records at all: PermanentObjectError."""
    joined = b"".join(parts)
    parts.clear()
    data = to_utf8(joined, ctx)
    if not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PermanentObjectError(f"not a JSON document: {exc}") from None


def streamed(head: list[bytes], rest: Iterator[bytes], ctx: ObjectContext, **paths: Path | None) -> Iterator[Records]:
    return document_records(TextStream(head, rest), ctx, **paths)


def streamable(path: list[str | int] | None) -> Path | None:
    """A path a big document can be walked along: keys only."""
    if path is None:
        return None
    if any(isinstance(step, int) for step in path):
        raise PermanentObjectError("a document too big to parse whole cannot be walked to a key with list indexes")
    return tuple(map(str, path))


def in_runs(values: list[Any], ctx: ObjectContext) -> Iterator[Records]:
    size = ctx.limits.records_per_run
    for start in range(0, len(values), size):
        yield json_records(values[start : start + size], ctx)


class SingleJsonObject:
    """The file is one JSON document; `key` names the list of records in it (CloudTrail `Records`,
    Config `configurationItems`), `fallback_key` where they are when `key` is absent. Without `key` the
    document is the record."""

    def __init__(self, config: SingleJsonObjectConfig, *, parse_records: bool) -> None:
        self.path = key_path(config.key)
        self.fallback = key_path(config.fallback_key)

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        chunks = without_bom(counted(chunks, ctx))
        head, whole = read_head(chunks, ctx)
        if not whole:
            yield from streamed(head, chunks, ctx, path=streamable(self.path), fallback=streamable(self.fallback))
            return
        document = parse_document(head, ctx)
        if document is None:
            return
        found = dig(document, self.path)
        if found is None and self.fallback is not None:
            found = dig(document, self.fallback)
        if found is None:
            ctx.malformed(f"no {'.'.join(map(str, self.path or []))!r} in the document", json_sample(document))
            return
        yield from in_runs(found if isinstance(found, list) else [found], ctx)


class JsonArray:
    """The file is a JSON array of records (a lone object counts as one record)."""

    def __init__(self, config: _Empty, *, parse_records: bool) -> None:
        pass

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        chunks = without_bom(counted(chunks, ctx))
        head, whole = read_head(chunks, ctx)
        if not whole:
            yield from streamed(head, chunks, ctx, path=None)
            return
        document = parse_document(head, ctx)
        if document is not None:
            yield from in_runs(document if isinstance(document, list) else [document], ctx)
