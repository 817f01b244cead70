"""`vpc_flow_processor`: VPC flow logs in S3. A header line names the fields (any custom format, v2..v8) of the
lines that follow it, and is not sent; it may stand anywhere (objects joined from several files carry one per
file). Lines before any header are named by `field_names` or the default v2 format.

Finding headers costs one comparison per line in C: data lines of the usual formats start with a digit (the
version), so when the largest line of a run does not start with a lowercase letter, no line is a header."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from devo_sqs.config.processors import VpcFlowConfig
from devo_sqs.processing.records import ObjectContext, Records, in_runs
from devo_sqs.processing.text import line_blocks, split_lines

DEFAULT_FIELDS = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
]
HEADER_LINE = re.compile(rb"[a-z][a-z0-9-]*(?: +[a-z][a-z0-9-]*)* *\r?")
KNOWN_FIELDS = frozenset(
    name.encode() for name in (*DEFAULT_FIELDS, "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "region")
)


def is_header(line: bytes) -> bool:
    """Only field names (lowercase words), one of them a known field."""
    return HEADER_LINE.fullmatch(line) is not None and any(token in KNOWN_FIELDS for token in line.split())


def header_lines(lines: list[bytes]) -> list[int]:
    """The indexes of the header lines among `lines`."""
    if not lines or max(lines)[:1] < b"a":
        return []
    return [index for index, line in enumerate(lines) if line[:1].islower() and is_header(line)]


def field_name(header_token: str) -> str:
    """`account-id` -> `account_id`, as in the parquet flow log schema."""
    return header_token.replace("-", "_")


class VpcFlow:
    def __init__(self, config: VpcFlowConfig, *, parse_records: bool) -> None:
        self.default_names = [field_name(name) for name in (config.field_names or DEFAULT_FIELDS)]
        self.parse = parse_records

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        names = self.default_names
        for block in line_blocks(chunks, ctx):
            for lines in in_runs(split_lines(block), ctx.limits.records_per_run):
                start = 0
                for header in header_lines(lines):
                    yield from self._records(lines[start:header], names)
                    names = [field_name(token) for token in lines[header].decode().split()]
                    start = header + 1
                yield from self._records(lines[start:] if start else lines, names)

    def _records(self, lines: list[bytes], names: list[str]) -> Iterator[Records]:
        if lines:
            yield Records(lines, [_fields(names, line) for line in lines] if self.parse else None)


def _fields(names: list[str], line: bytes) -> dict[str, Any]:
    """Named by the header; values past it (a header that lost a field) are `column_N`, N their position."""
    values = line.decode().split()
    record: dict[str, Any] = dict(zip(names, values, strict=False))
    for index in range(len(names), len(values)):
        record[f"column_{index + 1}"] = values[index]
    return record
