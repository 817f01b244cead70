"""Processors for files that are one JSON document: `single_json_object_processor`, `json_array_processor`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from devo_sqs.config.processors import SingleJsonObjectConfig, _Empty
from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.processors.base import dig, json_records, key_path
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import to_utf8

MAX_DOCUMENT_BYTES = 512 << 20
RECORDS_PER_RUN = 1000


def read_document(chunks: Iterator[bytes], ctx: ObjectContext) -> Any:
    """The whole file parsed as one JSON document; None for an empty file. A file that is not one JSON
    document cannot be split into records at all: PermanentObjectError."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            raise PermanentObjectError(f"JSON document larger than {MAX_DOCUMENT_BYTES} bytes")
        parts.append(chunk)
    ctx.stats.bytes_read += size
    data = to_utf8(b"".join(parts).removeprefix(b"\xef\xbb\xbf"), ctx)
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
    Config `configurationItems`). Without `key` the document is the record."""

    def __init__(self, config: SingleJsonObjectConfig, *, parse_records: bool) -> None:
        self.path = key_path(config.key)

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        document = read_document(chunks, ctx)
        if document is None:
            return
        found = dig(document, self.path)
        if found is None:
            ctx.malformed(f"no {'.'.join(map(str, self.path or []))!r} in the document", orjson.dumps(document))
            return
        yield from in_runs(found if isinstance(found, list) else [found])


class JsonArray:
    """The file is a JSON array of records (a lone object counts as one record)."""

    def __init__(self, config: _Empty, *, parse_records: bool) -> None:
        pass

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        document = read_document(chunks, ctx)
        if document is not None:
            yield from in_runs(document if isinstance(document, list) else [document])
