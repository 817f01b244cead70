"""JSON documents too big to hold whole (a 1 GB CloudTrail `{"Records": [...]}`): the list of records is
streamed with ijson's C backend (yajl2_c), chunk by chunk, so memory stays at about one chunk of records.

Only a list can be streamed: the records at `key` (or the elements of a top-level array). A big document
without such a list is one oversized record: counted as malformed.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

import ijson

from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.processors.base import json_records
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import utf8_chunks

RECORDS_PER_RUN = 1000


def stream_records(
    head: list[bytes], rest: Iterator[bytes], ctx: ObjectContext, *, path: list[str | int] | None
) -> Iterator[Records]:
    """The records of the list at `path` in the document `head` + `rest` begins. `head` is emptied as it is
    read, so its memory goes as parsing advances. A document that breaks off or is not JSON raises
    PermanentObjectError after the records before the fault were yielded."""
    prefix = items_prefix(path)
    reader = ChunkReader(utf8_chunks(chain(_drained(head), _counted(rest, ctx)), ctx))
    run: list[Any] = []
    count = 0
    try:
        for item in ijson.items(reader, prefix, use_float=True):
            run.append(item)
            if len(run) == RECORDS_PER_RUN:
                count += len(run)
                yield json_records(run)
                run = []
    except ijson.JSONError as exc:
        if run:
            yield json_records(run)
        raise PermanentObjectError(f"not a JSON document: {exc}") from None
    if run:
        yield json_records(run)
    elif count == 0:
        ctx.malformed(f"no list of records at {prefix!r} in a document too big to hold whole", b"")


class ChunkReader:
    """A file-like `read` over chunks for ijson's pull parser (much faster with yajl2_c than pushing
    chunks into its coroutine). Each read returns the next chunk, whatever size was asked."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def read(self, size: int = -1) -> bytes:
        return next(self._chunks, b"") if size else b""


def items_prefix(path: list[str | int] | None) -> str:
    """ijson's prefix of the items of the list at `path` (`Records` -> `Records.item`)."""
    if any(isinstance(step, int) for step in path or ()):
        raise PermanentObjectError("a document too big to hold whole cannot be streamed at a key with list indexes")
    return ".".join([*map(str, path or ()), "item"])


def _drained(parts: list[bytes]) -> Iterator[bytes]:
    parts.reverse()
    while parts:
        yield parts.pop()


def _counted(chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[bytes]:
    for chunk in chunks:
        ctx.stats.bytes_read += len(chunk)
        yield chunk
