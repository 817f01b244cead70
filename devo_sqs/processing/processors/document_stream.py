"""JSON documents too big to parse whole (a 1 GB CloudTrail `{"Records": [...]}`): the document is walked as a
stream of text, the list of records in it is found, and its elements are parsed a window at a time.

Memory stays at a window (PARSE_BYTES) plus one element of at most `limits.max_record_bytes`: a longer element is
counted as malformed and its bytes are dropped while the walk goes on to its end. Fast path: orjson parses the
window up to its last `},{` as one array; a cut that falls inside a string or a nested list cannot parse, so a
failed cut is retried at an earlier one, and an element no cut isolates is delimited by the bracket scanner. A
document that breaks off, or holds a list element that is not JSON, fails with PermanentObjectError after the
records before the fault were delivered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from devo_sqs.processing.processors.base import json_records
from devo_sqs.processing.processors.document_text import TextStream, not_json, read_value
from devo_sqs.processing.processors.json_stream import QUOTE
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import to_utf8

PARSE_BYTES = 64 << 10
ELEMENT_BOUNDARY = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*\{")
KEY_BYTES = 64 << 10  # a key longer than this is no key a path names
COMMA, COLON, OPEN_OBJECT, CLOSE_OBJECT, CLOSE_LIST = b",:{}]"
OPEN_LIST = ord("[")
Path = tuple[str, ...]


def document_records(
    stream: TextStream, ctx: ObjectContext, *, path: Path | None, fallback: Path | None = None
) -> Iterator[Records]:
    """The records of a big document: the elements of the list at `path` (a value there that is no list is one
    record), else the value at `fallback`; without a path, a top-level array's elements or the document."""
    first = stream.next_byte()
    if first is None:
        return
    if path is None:
        if first == OPEN_LIST:
            stream.position += 1
            yield from list_elements(stream, ctx)
        else:
            yield from _one_record(read_value(stream, keep=ctx.limits.max_record_bytes), ctx)
        return
    found = _find(stream, ctx, path=path, fallback=fallback)
    if isinstance(found, Found):
        yield from found.records(stream, ctx)
    elif found is not None:
        yield from _one_record(found, ctx)
    else:
        ctx.malformed(f"no {'.'.join(path)!r} in the document")


class Found:
    """The stream stands at the value of the path looked for."""

    def records(self, stream: TextStream, ctx: ObjectContext) -> Iterator[Records]:
        if stream.next_byte() == OPEN_LIST:
            stream.position += 1
            yield from list_elements(stream, ctx)
        else:
            yield from _one_record(read_value(stream, keep=ctx.limits.max_record_bytes), ctx)


def _find(stream: TextStream, ctx: ObjectContext, *, path: Path, fallback: Path | None) -> Found | bytes | None:
    """Walk the objects on the way to `path`. Returns Found at its value; else, at the end of the document, the
    text of the value at `fallback` (kept while walking, at most `max_record_bytes`), or None."""
    if stream.next_byte() != OPEN_OBJECT:
        return None
    stream.position += 1
    keys: list[str] = []
    kept: bytes | None = None
    while True:
        byte = stream.next_byte()
        if byte is None:
            raise not_json("the document ends inside an object")
        if byte == CLOSE_OBJECT:
            stream.position += 1
            if not keys:
                return kept
            keys.pop()
            continue
        if byte == COMMA:
            stream.position += 1
            continue
        here = (*keys, _key(stream))
        stream.expect(COLON, "':' after a key")
        if here == path:
            return Found()
        if here == fallback:
            kept = read_value(stream, keep=ctx.limits.max_record_bytes)
        elif _leads_to(here, path, fallback) and stream.next_byte() == OPEN_OBJECT:
            stream.position += 1
            keys.append(here[-1])
        else:
            read_value(stream, keep=0)


def _leads_to(here: Path, path: Path, fallback: Path | None) -> bool:
    depth = len(here)
    return here == path[:depth] or (fallback is not None and here == fallback[:depth])


def _key(stream: TextStream) -> str:
    if stream.next_byte() != QUOTE:
        raise not_json("a key expected")
    text = read_value(stream, keep=KEY_BYTES)
    try:
        key = orjson.loads(text) if text is not None else None
    except orjson.JSONDecodeError:
        key = None
    return key if isinstance(key, str) else ""


def list_elements(stream: TextStream, ctx: ObjectContext) -> Iterator[Records]:
    """The elements of the list the stream stands in (just after its `[`), as runs of records."""
    largest = ctx.limits.max_record_bytes
    while True:
        stream.window(PARSE_BYTES)
        byte = stream.next_byte()
        if byte is None:
            raise not_json("the document ends inside its list of records")
        if byte == CLOSE_LIST:
            stream.position += 1
            return
        if byte == COMMA:
            stream.position += 1
            continue
        values = _window_elements(stream, ctx)
        if values is None:
            text = read_value(stream, keep=largest)
            if text is None:
                ctx.malformed(f"record longer than limits.max_record_bytes ({largest})")
                continue
            values = [_loads(to_utf8(text, ctx))]
        yield from json_records(values, ctx).runs(ctx.limits.records_per_run)


def _window_elements(stream: TextStream, ctx: ObjectContext) -> list[Any] | None:
    """The elements from the stream's position up to the last `},{` of the window that cuts between elements,
    parsed in one call; None when none does."""
    text, start = stream.text, stream.position
    limit = min(len(text), start + PARSE_BYTES)
    while (cut := _last_cut(text, start, limit)) is not None:
        try:
            values: list[Any] = orjson.loads(b"[" + to_utf8(text[start:cut], ctx) + b"]")
        except orjson.JSONDecodeError:
            limit = start + (cut - start) // 2  # inside a string or a nested list: try an earlier cut
            continue
        stream.position = cut
        return values
    return None


def _last_cut(text: bytes, start: int, limit: int) -> int | None:
    """Just past the `}` of the last `},{` between `start` and `limit`, looking at the end first."""
    low = limit
    window = 4096
    while low > start:
        low = max(start, limit - window)
        last = None
        for last in ELEMENT_BOUNDARY.finditer(text, low, limit):  # noqa: B007 - only the last match is wanted
            pass
        if last is not None:
            return last.start() + 1
        window *= 4
    return None


def _loads(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise not_json(str(exc)) from None


def _one_record(text: bytes | None, ctx: ObjectContext) -> Iterator[Records]:
    if text is None:
        ctx.malformed(f"a value longer than limits.max_record_bytes ({ctx.limits.max_record_bytes})")
        return
    yield json_records([_loads(to_utf8(text, ctx))], ctx)
