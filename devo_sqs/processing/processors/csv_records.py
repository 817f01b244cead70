"""Blocks of lines -> CSV records. A quoted field may hold the line separator, so a record may span lines
and blocks; the csv module (C) decides, per block, where each record ends.

Memory bound: a record still open at the end of a block is carried into the next one while it is at most
MAX_QUOTED_RECORD_BYTES; past that, or at the end of the object, its quote is taken as unterminated.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from devo_sqs.processing.records import ObjectContext
from devo_sqs.processing.text import split_lines

MAX_QUOTED_RECORD_BYTES = 1 << 20
SENTINEL = ("",)  # an empty line after the block: a record still open swallows it instead of yielding []

FIELD_BYTES = 64 << 20  # the most `limits.max_record_bytes` may be: the csv default (128 KiB) is below it
csv.field_size_limit(max(csv.field_size_limit(), FIELD_BYTES))

Rows = list[list[str]]
Run = tuple[list[bytes], Rows | None]  # the records' original bytes, and their fields when asked for


@dataclass(slots=True)
class _Found:
    """Records found so far in one block."""

    lines: list[bytes] = field(default_factory=list)
    rows: Rows = field(default_factory=list)

    def add(self, line: bytes, row: list[str]) -> None:
        self.lines.append(line)
        self.rows.append(row)


class CsvRecords:
    """Cuts blocks into records and, when `want_rows`, their fields.

    An unterminated quote: the line that opened it is counted as malformed and the lines it swallowed are
    read again, once; should they hold another unterminated quote, each of them is then read on its own.
    """

    def __init__(self, *, separator: bytes, dialect: dict[str, Any], want_rows: bool) -> None:
        self.separator = separator
        self.text_separator = separator.decode()
        self.dialect = dialect
        self.quote = dialect["quotechar"].encode() if dialect["quoting"] != csv.QUOTE_NONE else None
        self.want_rows = want_rows

    def __call__(self, blocks: Iterable[bytes], ctx: ObjectContext) -> Iterator[Run]:
        carry = b""
        for block in blocks:
            if carry:
                block = carry + self.separator + block
            lines, rows, carry = self.split(block, ctx, final=False)
            if lines:
                yield lines, rows
        if carry:
            lines, rows, _ = self.split(carry, ctx, final=True)
            if lines:
                yield lines, rows

    def split(self, block: bytes, ctx: ObjectContext, *, final: bool) -> tuple[list[bytes], Rows | None, bytes]:
        """The records of a block, their fields, and the lines of a record still open at its end."""
        if self.separator == b"\n" and b"\r" in block:
            block = block.replace(b"\r\n", b"\n").removesuffix(b"\r")
        if not self.want_rows and (self.quote is None or self.quote not in block):
            return split_lines(block, self.separator), None, b""
        lines = block.split(self.separator)
        texts = block.decode().split(self.text_separator)
        rows = self._one_row_per_line(texts)
        if rows is None:
            found = _Found()
            carry = self._walk(lines, texts, ctx=ctx, found=found, final=final, retried=False)
            return found.lines, found.rows if self.want_rows else None, carry
        if not all(rows):
            lines, rows = _without_empty(lines, rows)
        return lines, rows if self.want_rows else None, b""

    def fields(self, record: bytes, default: list[str]) -> list[str]:
        """The fields of one whole record (its separators kept inside quoted values); `default` if broken."""
        try:
            return next(csv.reader((record.decode(),), **self.dialect), default)
        except csv.Error:
            return default

    def _one_row_per_line(self, texts: list[str]) -> Rows | None:
        """The fast path, one csv pass over the block; None when a record spans lines, stays open at the end,
        or a line is broken."""
        try:
            rows = list(csv.reader(chain(texts, SENTINEL), **self.dialect))
        except csv.Error:
            return None
        if len(rows) != len(texts) + 1:
            return None
        rows.pop()
        return rows

    def _walk(
        self, lines: list[bytes], texts: list[str], *, ctx: ObjectContext, found: _Found, final: bool, retried: bool
    ) -> bytes:
        """Record by record, following the reader's line count. Returns the open record to carry."""
        reader = csv.reader(chain(texts, SENTINEL), **self.dialect)
        start, count = 0, len(texts)
        while start < count:
            try:
                row = next(reader)
            except csv.Error as exc:
                end = min(reader.line_num, count)
                ctx.malformed(f"broken CSV ({exc})", self.separator.join(lines[start:end]))
                start = end
                continue
            end = reader.line_num
            if end > count:  # it swallowed the sentinel: still open
                rest, rest_texts = lines[start:], texts[start:]
                return self._open(rest, rest_texts, ctx=ctx, found=found, final=final, retried=retried)
            if row:
                self._add(lines[start:end], row, found=found)
            start = end
        return b""

    def _open(
        self, lines: list[bytes], texts: list[str], *, ctx: ObjectContext, found: _Found, final: bool, retried: bool
    ) -> bytes:
        """A record open at the end of the block: carried while within bounds, else its quote is broken."""
        if not final and sum(map(len, lines)) + len(lines) <= MAX_QUOTED_RECORD_BYTES:
            return self.separator.join(lines)
        ctx.malformed("unterminated quote", lines[0])
        if not retried:
            return self._walk(lines[1:], texts[1:], ctx=ctx, found=found, final=final, retried=True)
        for line, text in zip(lines[1:], texts[1:], strict=True):
            self._alone(line, text, ctx=ctx, found=found)
        return b""

    def _alone(self, line: bytes, text: str, *, ctx: ObjectContext, found: _Found) -> None:
        """One line read as a record by itself."""
        try:
            rows = list(csv.reader((text, ""), **self.dialect))
        except csv.Error as exc:
            ctx.malformed(f"broken CSV ({exc})", line)
            return
        if len(rows) == 1:
            ctx.malformed("unterminated quote", line)
        elif rows[0]:
            found.add(line, rows[0])

    def _add(self, lines: list[bytes], row: list[str], *, found: _Found) -> None:
        if len(lines) == 1:
            found.add(lines[0], row)
            return
        record = self.separator.join(lines)  # the walk read it without separators: read it again whole
        found.add(record, self.fields(record, row) if self.want_rows else row)


def _without_empty(lines: list[bytes], rows: Rows) -> tuple[list[bytes], Rows]:
    kept = [(line, row) for line, row in zip(lines, rows, strict=True) if row]
    return [line for line, _ in kept], [row for _, row in kept]
