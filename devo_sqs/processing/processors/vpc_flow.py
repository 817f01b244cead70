"""`vpc_flow_processor`: VPC flow logs in S3. The header line names the fields (any custom format,
v2..v8); it is not sent. Files without a header use `field_names` or the default v2 format."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from devo_sqs.config.processors import VpcFlowConfig
from devo_sqs.processing.records import ObjectContext, Records
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
HEADER_TOKEN = re.compile(rb"^[a-z][a-z0-9-]*$")
KNOWN_FIELDS = frozenset(
    name.encode() for name in (*DEFAULT_FIELDS, "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "region")
)


def is_header(line: bytes) -> bool:
    tokens = line.split()
    return all(HEADER_TOKEN.match(token) for token in tokens) and any(token in KNOWN_FIELDS for token in tokens)


def field_name(header_token: str) -> str:
    """`account-id` -> `account_id`, as in the parquet flow log schema."""
    return header_token.replace("-", "_")


class VpcFlow:
    def __init__(self, config: VpcFlowConfig, *, parse_records: bool) -> None:
        self.default_names = [field_name(name) for name in (config.field_names or DEFAULT_FIELDS)]
        self.parse = parse_records

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        names: list[str] | None = None
        for block in line_blocks(chunks, ctx):
            lines = split_lines(block)
            if names is None and lines:
                names = self.default_names
                if is_header(lines[0]):
                    names = [field_name(token) for token in lines[0].decode().split()]
                    lines = lines[1:]
            yield Records(lines, [_fields(names, line) for line in lines] if self.parse and names else None)


def _fields(names: list[str], line: bytes) -> dict[str, Any]:
    """Named by the header; values past it (a header that lost a field) are `column_N`, N their position."""
    values = line.decode().split()
    record: dict[str, Any] = dict(zip(names, values, strict=False))
    for index in range(len(names), len(values)):
        record[f"column_{index + 1}"] = values[index]
    return record
