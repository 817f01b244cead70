"""Files that are a stream of JSON objects: `separated_json_processor` (objects between separators),
`unseparated_json_processor` (objects back to back, Firehose's S3 shape), `json_line_arrays_processor`
(lines holding one or more objects back to back).

Objects whose text framed them (a line, a part between separators) are sent as written; records taken out of
a larger object, and objects written over several lines, are sent as compact JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from devo_sqs.config.processors import SeparatedJsonConfig, UnseparatedJsonConfig, _Empty
from devo_sqs.processing.processors.base import dig, json_records, key_path, parse_json_lines
from devo_sqs.processing.processors.json_stream import json_values, value_spans
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import line_blocks, split_lines, without_bom


class SeparatedJson:
    """JSON objects between `separator`s (default a newline; e.g. `||`). A part that is not JSON is counted
    and skipped. Each part is sent as written (without the whitespace around it), as compact JSON when it
    spans several lines."""

    def __init__(self, config: SeparatedJsonConfig, *, parse_records: bool) -> None:
        self.separator = config.separator.encode()

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        for block in line_blocks(without_bom(chunks), ctx, separator=self.separator):
            parts = split_lines(block, self.separator)
            if self.separator != b"\n":
                parts = [part for part in (part.strip() for part in parts) if part]
            records = parse_json_lines(parts, ctx)
            if records.messages:
                yield self._one_line_each(records)

    def _one_line_each(self, records: Records) -> Records:
        messages, parsed = records
        if self.separator != b"\n" and any(b"\n" in message for message in messages):
            assert parsed is not None
            messages = [
                orjson.dumps(value) if b"\n" in message else message
                for message, value in zip(messages, parsed, strict=True)
            ]
        return Records(messages, parsed)


class UnseparatedJson:
    """JSON objects back to back, with or without whitespace between, pretty-printed or not. `key` names the
    records inside each object (a list: one record per element; an object: one record); an object without
    `key` is itself the record (CloudTrail through Firehose, EventBridge-wrapped in `detail` or not).
    `include` copies outer values into each record under a new name; `flat` makes each object the record."""

    def __init__(self, config: UnseparatedJsonConfig, *, parse_records: bool) -> None:
        self.path = None if config.flat else key_path(config.key)
        self.include = [(key_path(outer), name) for outer, name in config.include.items()]

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        for values in json_values(chunks, ctx):
            records = values if self.path is None else self._records(values)
            if records:
                yield json_records(records)

    def _records(self, values: list[Any]) -> list[Any]:
        records: list[Any] = []
        for value in values:
            found = dig(value, self.path)
            if found is None:
                records.append(value)
                continue
            inner = found if isinstance(found, list) else [found]
            if self.include:
                self._copy_outer(value, inner)
            records.extend(inner)
        return records

    def _copy_outer(self, outer: Any, records: list[Any]) -> None:
        for path, name in self.include:
            value = dig(outer, path)
            if value is not None:
                for record in records:
                    if isinstance(record, dict):
                        record[name] = value


class JsonLineArrays:
    """Lines each holding one or more JSON objects back to back (`{...}{...}` on one line, WAF and Lacework
    exports). Each object is a record, sent as written in the line; a line holding a JSON array gives one
    record per element (sent as compact JSON). What is not JSON is counted and skipped."""

    def __init__(self, config: _Empty, *, parse_records: bool) -> None:
        pass

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        for block in line_blocks(without_bom(chunks), ctx):
            records = line_objects(split_lines(block), ctx)
            if records.messages:
                yield records


def line_objects(lines: list[bytes], ctx: ObjectContext) -> Records:
    """The objects of whole lines: one orjson call per line when every line is one object (the usual case)."""
    loads = orjson.loads
    try:
        parsed = [loads(line) for line in lines]
        if all(type(value) is dict for value in parsed):
            return Records(lines, parsed)
    except orjson.JSONDecodeError:
        pass
    records = Records([], [])
    for line in lines:
        for text, value in value_spans(line, ctx, final=True)[0]:
            _add_object(records, text, value, ctx)
    return records


def _add_object(records: Records, text: bytes, value: Any, ctx: ObjectContext) -> None:
    messages, parsed = records
    assert parsed is not None
    if isinstance(value, dict):
        messages.append(text)
        parsed.append(value)
    elif isinstance(value, list):
        elements = json_records(value)
        messages.extend(elements.messages)
        parsed.extend(value)
    else:
        ctx.malformed("a JSON scalar where an object was expected", text)
