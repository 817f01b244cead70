"""The one signature every processor has, and the JSON helpers several share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from devo_sqs.processing.records import ObjectContext, Records

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


def json_records(values: Iterable[Any]) -> Records:
    """Records extracted from a larger JSON structure are sent as compact JSON (no newlines)."""
    parsed = list(values)
    dumps = orjson.dumps
    return Records([dumps(value) for value in parsed], parsed)


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
