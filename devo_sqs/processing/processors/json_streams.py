"""Files that are a stream of JSON objects: `separated_json_processor` (objects between separators),
`unseparated_json_processor` (objects back to back, Firehose's S3 shape), `json_line_arrays_processor`
(lines holding one or more objects back to back).

Objects whose text framed them (a line, a part between separators) are sent as written; records taken out of
a larger object, and objects written over several lines, are sent as compact JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from devo_sqs.config.processors import JsonLineArraysConfig, SeparatedJsonConfig, UnseparatedJsonConfig
from devo_sqs.processing.processors.base import dig, json_records, key_path, parse_json_lines
from devo_sqs.processing.processors.json_stream import json_values, value_spans
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import MAX_RECORD_BYTES, line_blocks, split_lines, without_bom

STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes included


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
    record per element, and an object written over several lines (pretty-printed) is one record; both are
    sent as compact JSON. What is not JSON is counted and skipped, or with `text_lines` sent as a text record."""

    def __init__(self, config: JsonLineArraysConfig, *, parse_records: bool) -> None:
        self.text_lines = config.text_lines

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        reader = LineValues(ctx, text_lines=self.text_lines)
        for block in line_blocks(without_bom(chunks), ctx):
            records = reader.read(split_lines(block))
            if records.messages:
                yield records
        reader.finish()


class LineValues:
    """The records of one object's successive lines. A value still open at the end of its line goes on over
    the next lines until its brackets close (at most MAX_RECORD_BYTES are kept); a line starting with `{`
    while one is open begins a new value, and the open one is counted as malformed."""

    def __init__(self, ctx: ObjectContext, *, text_lines: bool) -> None:
        self.ctx = ctx
        self.text_lines = text_lines
        self.depth = 0  # brackets still open; > 0 while a value spans lines
        self.parts: list[bytes] = []  # its lines so far
        self.size = 0
        self.skipping = False  # its lines passed MAX_RECORD_BYTES: only its brackets are followed

    def read(self, lines: list[bytes]) -> Records:
        if not self.depth:
            records = objects_only(lines)
            if records is not None:
                return records
        records = Records([], [])
        for line in lines:
            self._line(records, line)
        return records

    def finish(self) -> None:
        """The end of the object: a value still open there was cut short."""
        self._abandon("a JSON value that never closes")

    def _line(self, records: Records, line: bytes) -> None:
        if self.depth and not line.startswith(b"{"):
            self._continue(records, line)
            return
        self._abandon("a JSON value cut short by the next object")
        if self.text_lines and line.lstrip()[:1] not in (b"{", b"["):
            _add_text(records, line)
        else:
            self._values(records, line)

    def _abandon(self, reason: str) -> None:
        if self.depth and not self.skipping:
            self.ctx.malformed(reason, self.parts[0][:200])
        self._close()

    def _continue(self, records: Records, line: bytes) -> None:
        self.depth += depth_change(line)
        if not self.skipping:
            self.parts.append(line)
            self.size += len(line) + 1
            if self.size > MAX_RECORD_BYTES:
                self.ctx.malformed(f"JSON value longer than {MAX_RECORD_BYTES} bytes", self.parts[0][:80])
                self.parts, self.skipping = [], True
        if self.depth <= 0:
            text = b"\n".join(self.parts)
            self._close()
            if text:
                self._values(records, text)

    def _values(self, records: Records, text: bytes) -> None:
        spans, rest = value_spans(text, self.ctx, final=False)
        for span, value in spans:
            _add_object(records, orjson.dumps(value) if b"\n" in span else span, value, self.ctx)
        depth = depth_change(rest) if rest else 0
        if depth > 0:
            self.depth, self.parts, self.size = depth, [rest], len(rest)
        elif rest:
            self.ctx.malformed("not JSON", rest[:200])

    def _close(self) -> None:
        self.depth, self.parts, self.size, self.skipping = 0, [], 0, False


def objects_only(lines: list[bytes]) -> Records | None:
    """The lines as records when each is exactly one object (the usual case: one orjson call per line)."""
    loads = orjson.loads
    try:
        parsed = [loads(line) for line in lines]
    except orjson.JSONDecodeError:
        return None
    return Records(lines, parsed) if all(type(value) is dict for value in parsed) else None


def depth_change(line: bytes) -> int:
    """Brackets opened minus brackets closed in `line`, outside strings."""
    if b'"' in line:
        line = STRING.sub(b"", line)
    return line.count(b"{") + line.count(b"[") - line.count(b"}") - line.count(b"]")


def _add_text(records: Records, line: bytes) -> None:
    """A text line as a record without fields."""
    assert records.parsed is not None
    records.messages.append(line)
    records.parsed.append({})


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
