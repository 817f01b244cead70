"""JSON values written back to back (`{...}{...}`, any whitespace or none between), cut out of a byte stream.

Fast path, per block of about one chunk: every `}{` candidate boundary becomes `},\\n{` and orjson parses the
whole block as one array in a single call. A raw newline is invalid inside a JSON string, so a candidate that
was really inside a string makes that parse fail instead of silently splitting the string; such a block (or one
holding a malformed value) goes through `value_spans`, which cuts value by value: candidate pieces checked with
orjson, a bracket scanner where a piece does not parse. Memory: one block (PARSE_BYTES, so that even a block
of `{}` parses into a bounded number of objects) plus one value, at most `limits.max_record_bytes`; a longer
value is counted as malformed and skipped up to the next boundary. Runs hold at most `limits.records_per_run`.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator
from typing import Any

import orjson

from devo_sqs.processing.records import ObjectContext, in_runs
from devo_sqs.processing.text import counted, is_utf8, pieces, to_utf8, utf8_chunks, without_bom

BOUNDARY = re.compile(rb"\}[ \t\r\n]*\{")
RESYNC = re.compile(rb"\}[ \t\r\n]*\{|\n\{")
OPENER = re.compile(rb"[{\[]")
SPACE = re.compile(rb"[ \t\r\n]*")
STRUCTURE = re.compile(rb'["{}\[\]]')
SCALAR_END = re.compile(rb'[ \t\r\n{}\[\]",]')
OPENERS = frozenset(b"{[")
QUOTE = ord('"')
BACKSLASH = ord("\\")
STRADDLE_BYTES = 64  # a boundary's `}` and the whitespace after it may end the previous buffer
FIRST_WINDOW_BYTES = 4096
BISECT_BYTES = 16 << 10
PARSE_BYTES = 64 << 10
Span = tuple[bytes, Any]


def json_values(chunks: Iterable[bytes], ctx: ObjectContext) -> Iterator[list[Any]]:
    """Runs of the top-level JSON values of the stream, parsed. An array stands for its elements; a value
    that is not JSON, or a bare scalar, is counted as malformed and skipped."""
    chunks = counted(chunks, ctx)
    if not is_utf8(ctx.charset):
        chunks, ctx = utf8_chunks(chunks, ctx), ctx.with_charset("utf-8")
    carry = b""
    skipping = False
    largest = ctx.limits.max_record_bytes
    for chunk in pieces(without_bom(chunks), PARSE_BYTES):
        buffer = carry + chunk if carry else chunk
        start = max(0, len(carry) - STRADDLE_BYTES)
        if skipping:
            buffer, start, skipping = _resume(buffer)
        cut = _last_boundary(buffer, start)
        if cut > 0:
            values, rest = _parse_block(buffer[:cut], ctx, final=False)
            yield from _flush(values, ctx)
            buffer = rest + buffer[cut:] if rest else buffer[cut:]
        carry = buffer
        if len(carry) > largest:
            ctx.malformed(f"JSON value longer than limits.max_record_bytes ({largest})", carry[:80])
            carry, skipping = carry[-STRADDLE_BYTES:], True
    if carry and not skipping:
        yield from _flush(_parse_block(carry, ctx, final=True)[0], ctx)


def _resume(buffer: bytes) -> tuple[bytes, int, bool]:
    """After an oversized value: (the buffer from the next boundary's `{`, 0, False), or keep only the
    tail that may hold the next boundary's start and go on skipping."""
    found = BOUNDARY.search(buffer)
    if found is None:
        tail = buffer[-STRADDLE_BYTES:]
        return tail, len(tail), True
    return buffer[found.end() - 1 :], 0, False


def _last_boundary(buffer: bytes, start: int) -> int:
    """Index of the `{` of the last candidate boundary at or after `start`, or -1; looks at the end first."""
    window = FIRST_WINDOW_BYTES
    while True:
        low = max(start, len(buffer) - window)
        last = None
        for last in BOUNDARY.finditer(buffer, low):  # noqa: B007 - only the last match is wanted
            pass
        if last is not None:
            return last.end() - 1
        if low == start:
            return -1
        window *= 16


def _parse_block(block: bytes, ctx: ObjectContext, *, final: bool) -> tuple[list[Any], bytes]:
    """(values, rest): rest is an unfinished last value (only when not final), to be read again with more data."""
    return _parse_text(to_utf8(block, ctx), ctx, final=final)


def _parse_text(text: bytes, ctx: ObjectContext, *, final: bool) -> tuple[list[Any], bytes]:
    """One orjson call for the whole text; when that fails, the first half on its own, then the rest (so one
    odd value costs a few re-parses, not a value-by-value pass), and value by value below BISECT_BYTES."""
    values: list[Any] = []
    while True:
        try:
            return values + orjson.loads(b"[" + BOUNDARY.sub(b"},\n{", text) + b"]"), b""
        except orjson.JSONDecodeError:
            pass
        found = BOUNDARY.search(text, len(text) // 2) if len(text) > BISECT_BYTES else None
        left, rest = _parse_text(text[: found.end() - 1], ctx, final=False) if found else ([], b"")
        if found is None or len(rest) == found.end() - 1:
            spans, rest = value_spans(text, ctx, final=final)
            return values + [value for _, value in spans], rest
        values += left
        text = rest + text[found.end() - 1 :]


def _flush(values: list[Any], ctx: ObjectContext) -> Iterator[list[Any]]:
    if all(type(value) is dict for value in values):
        yield from in_runs(values, ctx.limits.records_per_run)
        return
    kept: list[Any] = []
    for value in values:
        if isinstance(value, dict):
            kept.append(value)
        elif isinstance(value, list):
            kept.extend(value)
        else:
            ctx.malformed("a JSON scalar where an object was expected", orjson.dumps(value))
    yield from in_runs(kept, ctx.limits.records_per_run)


def value_spans(text: bytes, ctx: ObjectContext, *, final: bool) -> tuple[list[Span], bytes]:
    """The JSON values of valid UTF-8 `text`, each as (its bytes as written, parsed), and the unfinished rest
    (see iter_value_spans)."""
    spans = iter_value_spans(text, ctx, final=final)
    found: list[Span] = []
    while True:
        try:
            found.append(next(spans))
        except StopIteration as stop:
            return found, stop.value


def iter_value_spans(text: bytes, ctx: ObjectContext, *, final: bool) -> Generator[Span, None, bytes]:
    """Yield the JSON values of valid UTF-8 `text`, each as (its bytes as written, parsed); return the
    unfinished rest.

    A malformed object or array is counted and skipped up to where its brackets close, or when they never do,
    up to the next candidate boundary or line starting with `{`; other text up to the next `{` or `[`. A value
    cut short by the end of the text is the rest when not `final` (orjson says "end of data"), else malformed.
    """
    position = _skip_space(text, 0)
    while position < len(text):
        end, value = _next_value(text, position)
        if value is not _MISSING and end is not None:
            yield text[position:end], value
        elif end is None and not final and _cut_short(text[position:]):
            return text[position:]
        else:
            ctx.malformed("not JSON", text[position : position + 200])
            if end is None or text[position] not in OPENERS:
                end = _resync(text, position)
        position = _skip_space(text, end)
    return b""


_MISSING = object()
END_OF_DATA = "unexpected end of data"  # orjson's message when the text stops inside a valid value


def _resync(text: bytes, position: int) -> int:
    """Where to look for the next value after a malformed one: the next candidate boundary or line starting
    with `{` after a broken object or array, the next `{` or `[` after other text."""
    pattern = RESYNC if text[position] in OPENERS else OPENER
    found = pattern.search(text, position + 1)
    return found.end() - 1 if found else len(text)


def _skip_space(text: bytes, position: int) -> int:
    return SPACE.match(text, position).end()  # type: ignore[union-attr]  # `*` always matches


def _next_value(text: bytes, start: int) -> tuple[int | None, Any]:
    """(end, value) of the value at `start`: the piece up to the next candidate boundary when it parses,
    else what the bracket scanner delimits (end None: it never closes); value _MISSING when not JSON."""
    found = BOUNDARY.search(text, start + 1)
    end: int | None = found.start() + 1 if found else len(text)
    value = _loads(text[start:end])
    if value is _MISSING:
        end = value_end(text, start)
        value = _MISSING if end is None else _loads(text[start:end])
    return end, value


def _loads(piece: bytes) -> Any:
    try:
        return orjson.loads(piece)
    except orjson.JSONDecodeError:
        return _MISSING


def _cut_short(piece: bytes) -> bool:
    """True when `piece` is the valid start of a JSON value that the end of the text interrupted."""
    try:
        orjson.loads(piece)
    except orjson.JSONDecodeError as exc:
        return exc.msg == END_OF_DATA
    return False


def string_end(text: bytes, position: int) -> int:
    """Just past the quote that closes the string whose text starts at `position`, or -1 when `text` ends
    first. A quote after an odd run of backslashes is escaped."""
    while (quote := text.find(b'"', position)) >= 0:
        before = quote
        while before > position and text[before - 1] == BACKSLASH:
            before -= 1
        if (quote - before) % 2 == 0:
            return quote + 1
        position = quote + 1
    return -1


def value_end(text: bytes, start: int) -> int | None:
    """Where the value starting at `text[start]` ends, by bracket depth outside strings; None when the text ends
    first. It does not validate: orjson does, on the slice."""
    if text[start] == QUOTE:
        closed = string_end(text, start + 1)
        return closed if closed >= 0 else None
    if text[start] not in OPENERS:
        stop = SCALAR_END.search(text, start + 1)
        return stop.start() if stop else len(text)
    depth = 0
    position = start
    while found := STRUCTURE.search(text, position):
        if text[found.start()] == QUOTE:
            closed = string_end(text, found.end())
            if closed < 0:
                return None
            position = closed
            continue
        depth += 1 if text[found.start()] in OPENERS else -1
        position = found.end()
        if depth == 0:
            return position
    return None
