"""Files that are a stream of JSON objects: `separated_json_processor` (objects between separators),
`unseparated_json_processor` (objects back to back, Firehose's S3 shape), `json_line_arrays_processor`
(lines holding one or more objects back to back).

Objects whose text framed them (a line, a part between separators) are sent as written; records taken out of
a larger object, and objects written over several lines, are sent as compact JSON. However many objects a line
or a block holds, they are handed on `limits.records_per_run` at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from devo_sqs.config.processors import JsonLineArraysConfig, SeparatedJsonConfig, UnseparatedJsonConfig
from devo_sqs.processing.processors.base import compact_json, dig, json_records, key_path, parse_json_lines
from devo_sqs.processing.processors.json_stream import iter_value_spans, json_values
from devo_sqs.processing.records import ObjectContext, Records, in_runs
from devo_sqs.processing.text import line_blocks, split_lines, without_bom

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
            for run in in_runs(parts, ctx.limits.records_per_run):
                records = parse_json_lines(run, ctx)
                if records.messages:
                    yield self._one_line_each(records, ctx)

    def _one_line_each(self, records: Records, ctx: ObjectContext) -> Records:
        messages, parsed = records
        if self.separator == b"\n" or not any(b"\n" in message for message in messages):
            return records
        assert parsed is not None
        kept = Records([], [])
        for message, value in zip(messages, parsed, strict=True):
            text = compact_json(value, ctx) if b"\n" in message else message
            if text is not None:
                kept.messages.append(text)
                kept.parsed.append(value)  # type: ignore[union-attr]
        return kept


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
            for run in in_runs(records, ctx.limits.records_per_run):
                yield json_records(run, ctx)

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
            for lines in in_runs(split_lines(block), ctx.limits.records_per_run):
                yield from reader.read(lines)
        reader.finish()


class LineValues:
    """The records of one object's successive lines, in runs of at most `records_per_run`. A value still open
    at the end of its line goes on over the next lines until its brackets close (at most `max_record_bytes`
    are kept); a line starting with `{` while one is open begins a new value, and the open one is counted as
    malformed."""

    def __init__(self, ctx: ObjectContext, *, text_lines: bool) -> None:
        self.ctx = ctx
        self.text_lines = text_lines
        self.run = Records([], [])
        self.depth = 0  # brackets still open; > 0 while a value spans lines
        self.parts: list[bytes] = []  # its lines so far
        self.size = 0
        self.skipping = False  # its lines passed max_record_bytes: only its brackets are followed

    def read(self, lines: list[bytes]) -> Iterator[Records]:
        if not self.depth:
            records = objects_only(lines)
            if records is not None:
                yield records
                return
        for line in lines:
            yield from self._line(line)
        yield from self._handed_on(at_least=1)

    def finish(self) -> None:
        """The end of the object: a value still open there was cut short."""
        self._abandon("a JSON value that never closes")

    def _handed_on(self, *, at_least: int) -> Iterator[Records]:
        """The run collected so far, when it holds at least `at_least` records; a new run begins."""
        if len(self.run.messages) >= at_least:
            yield self.run
            self.run = Records([], [])

    def _line(self, line: bytes) -> Iterator[Records]:
        if self.depth and not line.startswith(b"{"):
            yield from self._continue(line)
            return
        self._abandon("a JSON value cut short by the next object")
        if self.text_lines and line.lstrip()[:1] not in (b"{", b"["):
            _add_text(self.run, line)
        else:
            yield from self._values(line)

    def _abandon(self, reason: str) -> None:
        if self.depth and not self.skipping:
            self.ctx.malformed(reason, self.parts[0][:200])
        self._close()

    def _continue(self, line: bytes) -> Iterator[Records]:
        self.depth += depth_change(line)
        largest = self.ctx.limits.max_record_bytes
        if not self.skipping:
            self.parts.append(line)
            self.size += len(line) + 1
            if self.size > largest:
                self.ctx.malformed(f"JSON value longer than limits.max_record_bytes ({largest})", self.parts[0][:80])
                self.parts, self.skipping = [], True
        if self.depth <= 0:
            text = b"\n".join(self.parts)
            self._close()
            if text:
                yield from self._values(text)

    def _values(self, text: bytes) -> Iterator[Records]:
        spans = iter_value_spans(text, self.ctx, final=False)
        run_size = self.ctx.limits.records_per_run
        while True:
            try:
                span, value = next(spans)
            except StopIteration as stop:
                rest: bytes = stop.value
                break
            if isinstance(value, list):  # a line holding an array: its elements, a run at a time
                for elements in in_runs(value, run_size):
                    _add_elements(self.run, elements, self.ctx)
                    yield from self._handed_on(at_least=run_size)
                continue
            written = span if b"\n" not in span else compact_json(value, self.ctx)
            if written is not None:
                _add_object(self.run, written, value, self.ctx)
                yield from self._handed_on(at_least=run_size)
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
    else:
        ctx.malformed("a JSON scalar where an object was expected", text)


def _add_elements(records: Records, elements: list[Any], ctx: ObjectContext) -> None:
    """The elements of an array, each a record sent as compact JSON."""
    written = json_records(elements, ctx)
    records.messages.extend(written.messages)
    assert records.parsed is not None
    records.parsed.extend(written.parsed or ())
