"""The one signature every processor has, and the JSON helpers several share."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import orjson

from devo_sqs.processing.records import ObjectContext, Records

JSON_DEPTH_WRITTEN = 254  # orjson reads 1024 levels of nesting but writes at most this many

Processor = Callable[[Iterator[bytes], ObjectContext], Iterator[Records]]
"""(decompressed chunks, context) -> runs of records. Malformed records go to `ctx.malformed`."""


def parse_json_lines(lines: list[bytes], ctx: ObjectContext) -> Records:
    """Parse each line as JSON; a line that is not JSON is counted and skipped, the original kept as message."""
    loads = orjson.loads
    try:
        return Records(lines, [loads(line) for line in lines])
    except orjson.JSONDecodeError:
        pass
    messages: list[bytes] = []
    parsed: list[Any] = []
    for line in lines:
        try:
            parsed.append(loads(line))
        except orjson.JSONDecodeError as exc:
            if line.strip():
                ctx.malformed(f"not JSON ({exc})", line)
            continue
        messages.append(line)
    return Records(messages, parsed)


def json_records(values: Iterable[Any], ctx: ObjectContext, *, default: Callable[[Any], Any] | None = None) -> Records:
    """Records extracted from a larger JSON structure are sent as compact JSON (no newlines). A record that
    cannot be written (nested deeper than JSON_DEPTH_WRITTEN) or comes out longer than `max_record_bytes` is
    malformed: counted and skipped."""
    parsed = values if isinstance(values, list) else list(values)
    dumps, join = orjson.dumps, b"".join
    try:
        messages = [join((dumps(value, default=default), b"")) for value in parsed]  # exact size: see written()
    except (orjson.JSONEncodeError, TypeError):
        return _written_one_by_one(parsed, ctx, default)
    if messages and max(map(len, messages)) > ctx.limits.max_record_bytes:
        return _written_one_by_one(parsed, ctx, default)
    return Records(messages, parsed)


def _written_one_by_one(parsed: list[Any], ctx: ObjectContext, default: Callable[[Any], Any] | None) -> Records:
    largest = ctx.limits.max_record_bytes
    messages: list[bytes] = []
    kept: list[Any] = []
    for value in parsed:
        try:
            message = written(value, default=default)
        except (orjson.JSONEncodeError, TypeError) as exc:
            ctx.malformed(f"cannot be written as JSON ({exc})")
            continue
        if len(message) > largest:
            ctx.malformed(f"{len(message)} bytes, more than limits.max_record_bytes", message[:80])
            continue
        messages.append(message)
        kept.append(value)
    return Records(messages, kept)


def written(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """`value` as compact JSON in a bytes object of its exact size. orjson (3.12+) leaves each result in a
    buffer of at least 4 KiB: kept in batches, records would take several times their size (and copying them
    out is faster than faulting in that memory)."""
    return b"".join((orjson.dumps(value, default=default), b""))


def compact_json(value: Any, ctx: ObjectContext) -> bytes | None:
    """`value` as one line of compact JSON; None, counted as malformed, when it cannot be written."""
    try:
        return written(value)
    except orjson.JSONEncodeError as exc:
        ctx.malformed(f"cannot be written as JSON ({exc})")
        return None


def json_sample(value: Any) -> bytes:
    """A value as JSON for a log line, whatever it holds."""
    try:
        return orjson.dumps(value, default=json_default)[:200]
    except (orjson.JSONEncodeError, TypeError):
        return repr(value)[:200].encode()


def json_default(value: Any) -> Any:
    """orjson's `default` for values JSON has no type for (parquet's): a decimal as a number with every digit
    kept, binary as base64, a month-day-nanosecond interval as an ISO 8601 duration."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode()) if value.is_finite() else None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, tuple) and hasattr(value, "nanoseconds"):  # pyarrow's MonthDayNano interval
        months, days, nanoseconds = value
        return f"P{months}M{days}DT{seconds_text(nanoseconds, 9)}S"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def seconds_text(count: int, digits: int) -> str:
    """`count` units of 10**-digits seconds as decimal seconds: (1500, 3) -> `1.500`."""
    sign, count = ("-", -count) if count < 0 else ("", count)
    whole, fraction = divmod(count, 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}" if digits else f"{sign}{whole}"


def dig(document: Any, path: list[str | int] | None) -> Any:
    """The value at `path` in `document`, or None when the path does not exist."""
    value = document
    for step in path or ():
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return None
    return value


def key_path(key: str | list[str | int] | None) -> list[str | int] | None:
    """`a.b` or `[a, b]` -> [a, b]; None stays None."""
    if key is None:
        return None
    parts: list[str | int] = [*key.split(".")] if isinstance(key, str) else [*key]
    return parts
