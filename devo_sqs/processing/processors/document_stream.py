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

from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.processors.base import json_records
from devo_sqs.processing.processors.json_stream import BACKSLASH, OPENERS, QUOTE, SPACE, STRUCTURE, string_end
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import to_utf8

PARSE_BYTES = 64 << 10
ELEMENT_BOUNDARY = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*\{")
SCALAR_END = re.compile(rb"[ \t\r\n,\]}]")
KEY_BYTES = 64 << 10  # a key longer than this is no key a path names
COMMA, COLON, OPEN_OBJECT, CLOSE_OBJECT, CLOSE_LIST = b",:{}]"
OPEN_LIST = ord("[")
Path = tuple[str, ...]


class TextStream:
    """The document's text, read chunk by chunk; `text[position:]` is what is not consumed yet."""

    def __init__(self, head: list[bytes], rest: Iterator[bytes]) -> None:
        self._head = head  # chunks already read to tell the document is big; emptied as read
        self._rest = rest
        self.text = b""
        self.position = 0

    def more(self) -> bool:
        """Append the next chunk to what is not consumed yet; False at the end of the document."""
        chunk: bytes | None = b""
        while not chunk:
            chunk = self._head.pop(0) if self._head else next(self._rest, None)
            if chunk is None:
                return False
        self.text = self.text[self.position :] + chunk
        self.position = 0
        return True

    def next_byte(self) -> int | None:
        """The next byte that is not whitespace (not consumed), or None at the end of the document."""
        while True:
            self.position = SPACE.match(self.text, self.position).end()  # type: ignore[union-attr]
            if self.position < len(self.text):
                return self.text[self.position]
            if not self.more():
                return None

    def expect(self, byte: int, what: str) -> None:
        if self.next_byte() != byte:
            raise _not_json(f"{what} expected")
        self.position += 1

    def window(self, size: int) -> None:
        """Read on until `size` bytes are unconsumed, or the document ends."""
        while len(self.text) - self.position < size and self.more():
            pass


class ValueScanner:
    """Where one JSON value ends, over text that arrives in pieces; it keeps no text itself."""

    def __init__(self) -> None:
        self.depth = 0
        self.started = False
        self.scalar = False
        self.in_string = False
        self.escaped = False  # the piece ended inside a string on an unpaired backslash

    def scan(self, text: bytes, position: int) -> int | None:
        """The offset just past the value's end, scanning `text` from `position`; None when it goes on."""
        if not self.started:
            self.started = True
            self.scalar = text[position] not in OPENERS and text[position] != QUOTE
        if self.scalar:
            stop = SCALAR_END.search(text, position)
            return stop.start() if stop else None
        while True:
            if self.in_string:
                position = self._string_end(text, position)
                if position < 0:
                    return None
                if self.depth == 0:
                    return position
                continue
            found = STRUCTURE.search(text, position)
            if found is None:
                return None
            position = found.end()
            char = text[found.start()]
            if char == QUOTE:
                self.in_string = True
                continue
            self.depth += 1 if char in OPENERS else -1
            if self.depth == 0:
                return position

    def _string_end(self, text: bytes, position: int) -> int:
        """Just past the closing quote, or -1 when the string goes on past `text`."""
        if self.escaped:
            self.escaped, position = False, position + 1
        closed = string_end(text, position)
        if closed >= 0:
            self.in_string = False
            return closed
        end = len(text)
        while end > position and text[end - 1] == BACKSLASH:
            end -= 1
        self.escaped = (len(text) - end) % 2 == 1
        return -1

    def at_end_of_document(self) -> bool:
        """A bare scalar may end where the document ends."""
        return self.scalar


def read_value(stream: TextStream, *, keep: int) -> bytes | None:
    """The text of the value at the stream's position, consumed; None when it is longer than `keep` (its text
    is dropped as it is read)."""
    if stream.next_byte() is None:
        raise _not_json("the document ends where a value was expected")
    scanner = ValueScanner()
    parts: list[bytes] = []
    size = 0
    start = stream.position
    while True:
        end = scanner.scan(stream.text, start)
        stop = len(stream.text) if end is None else end
        size += stop - start
        if size <= keep:
            parts.append(stream.text[start:stop])
        stream.position = stop
        if end is None and not stream.more():
            if not scanner.at_end_of_document():
                raise _not_json("the document ends inside a value")
            end = stop
        if end is not None:
            return b"".join(parts) if size <= keep else None
        start = stream.position


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
            raise _not_json("the document ends inside an object")
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
        raise _not_json("a key expected")
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
            raise _not_json("the document ends inside its list of records")
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
        raise _not_json(str(exc)) from None


def _one_record(text: bytes | None, ctx: ObjectContext) -> Iterator[Records]:
    if text is None:
        ctx.malformed(f"a value longer than limits.max_record_bytes ({ctx.limits.max_record_bytes})")
        return
    yield json_records([_loads(to_utf8(text, ctx))], ctx)


def _not_json(reason: str) -> PermanentObjectError:
    return PermanentObjectError(f"not a JSON document: {reason}")
