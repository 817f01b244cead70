"""`text_file_processor`: delimited text (CSV, TSV, space separated) in records.

A record is a line, or several when a quoted field holds the line separator. The original record is sent,
or with `use_json` a compact JSON object of its fields. Fields are named by `field_names`, else by the header
line, else `field_1..N`; values past the names are `field_N` (N their position). Fields are only built when
a record variable or `use_json` needs them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from devo_sqs.config.processors import TextFileConfig
from devo_sqs.processing.processors.base import written
from devo_sqs.processing.processors.csv_records import CsvRecords, Rows, Run
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import line_blocks, split_lines

HEADER_END_SEARCH_BYTES = 64 << 10


class TextFile:
    def __init__(self, config: TextFileConfig, *, parse_records: bool) -> None:
        self.config = config
        self.separator = config.line_separator.encode()
        self.parse = parse_records
        self.wants_fields = parse_records or config.use_json
        self.csv = _csv_records(config, separator=self.separator, want_rows=self.wants_fields)
        self.field_separator = config.field_separator
        self.header_end = config.header_end.encode() if config.header_end else None

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        blocks: Iterable[bytes] = line_blocks(chunks, ctx, separator=self.separator, keep_empty=True)
        if self.config.skip_lines:
            blocks = skip_lines(blocks, self.config.skip_lines, separator=self.separator)
        if self.header_end:
            blocks = after_header_end(blocks, self.header_end, separator=self.separator)
        names = list(self.config.field_names or ())
        header_pending = self.config.header
        for lines, rows in self._runs(blocks, ctx):
            if header_pending:
                header_pending = False
                names = names or self._fields_of(lines[0], rows[0] if rows else None)
                lines, rows = lines[1:], rows[1:] if rows else rows
            size = ctx.limits.records_per_run
            for start in range(0, len(lines), size):
                part = rows[start : start + size] if rows is not None else None
                yield self._records(lines[start : start + size], part, names=names)

    def _runs(self, blocks: Iterable[bytes], ctx: ObjectContext) -> Iterator[Run]:
        if self.csv is not None:
            return self.csv(blocks, ctx)
        runs = ((split_lines(block, self.separator), None) for block in blocks)
        return (run for run in runs if run[0])

    def _records(self, lines: list[bytes], rows: Rows | None, *, names: list[str]) -> Records:
        if not self.wants_fields:
            return Records(lines, None)
        records = named(names, rows if rows is not None else self._rows(lines))
        messages = [written(record) for record in records] if self.config.use_json else lines
        return Records(messages, records if self.parse else None)

    def _rows(self, lines: list[bytes]) -> Rows:
        """Fields of records that were not read as CSV: the whole line, or split on a multi-character separator."""
        if self.field_separator is None:
            return [[line.decode()] for line in lines]
        return [line.decode().split(self.field_separator) for line in lines]

    def _fields_of(self, line: bytes, row: list[str] | None) -> list[str]:
        if row is not None:
            return row
        return self.csv.fields(line, []) if self.csv is not None else self._rows([line])[0]


def _csv_records(config: TextFileConfig, *, separator: bytes, want_rows: bool) -> CsvRecords | None:
    """The CSV reader for a one-character field separator; None when lines are not read as CSV."""
    if config.field_separator is None or len(config.field_separator) != 1:
        return None
    dialect: dict[str, Any] = {
        "delimiter": config.field_separator,
        "quotechar": config.quotechar,
        "quoting": csv.QUOTE_MINIMAL if config.quotechar else csv.QUOTE_NONE,
        "skipinitialspace": config.skip_initial_space,
        "strict": False,
    }
    return CsvRecords(separator=separator, dialect=dialect, want_rows=want_rows)


def named(names: list[str], rows: Rows) -> list[dict[str, str]]:
    """Rows as objects; values past the names are `field_N`, N their 1-based position."""
    longest = max(map(len, rows), default=0)
    if longest > len(names):
        names = [*names, *(f"field_{index}" for index in range(len(names) + 1, longest + 1))]
    return [dict(zip(names, row, strict=False)) for row in rows]


def skip_lines(blocks: Iterable[bytes], count: int, *, separator: bytes) -> Iterator[bytes]:
    """Drop the first `count` non-empty lines (empty ones are not counted: block edges may hide them)."""
    blocks = iter(blocks)
    for block in blocks:
        position = 0
        while count and position <= len(block):
            end = block.find(separator, position)
            end = len(block) if end < 0 else end
            count -= bool(block[position:end].strip(b"\r"))
            position = end + len(separator)
        if position <= len(block):
            yield block[position:]
            yield from blocks
            return


def after_header_end(blocks: Iterable[bytes], marker: bytes, *, separator: bytes) -> Iterator[bytes]:
    """Drop a leading block of lines ending with the line `marker`, when it ends within the first
    HEADER_END_SEARCH_BYTES; otherwise drop nothing."""
    blocks = iter(blocks)
    head = b""
    for block in blocks:
        head = head + separator + block if head else block
        end = _past_line(head, marker, separator=separator)
        if end is not None or len(head) >= HEADER_END_SEARCH_BYTES:
            rest = head if end is None else head[end:]
            if rest:
                yield rest
            yield from blocks
            return
    if head:
        yield head


def _past_line(head: bytes, marker: bytes, *, separator: bytes) -> int | None:
    """The offset just past the line `marker` within the first HEADER_END_SEARCH_BYTES, or None."""
    position = 0
    for line in head[:HEADER_END_SEARCH_BYTES].split(separator):
        position += len(line) + len(separator)
        if line.rstrip(b"\r") == marker:
            return position
    return None
