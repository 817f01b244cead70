"""Bounded memory by construction, processor by processor: the largest record, records per run, JSON nesting
that cannot be written, direct-mode bodies. Each ends in one clear outcome: the record is counted as malformed
and the rest of the object delivered."""

from __future__ import annotations

import tracemalloc
from decimal import Decimal
from typing import Any

import orjson
import pytest

from devo_sqs.config.limits import Limits
from devo_sqs.processing.fields import as_text
from devo_sqs.processing.processors.direct import body_records
from devo_sqs.processing.records import ObjectContext
from devo_sqs.processing.text import line_blocks
from tests.unit.processing.harness import CHUNK_SIZES, in_chunks, processor, records, same_in_every_chunking

KIB = 1 << 10


def runs_of(run: Any, data: bytes, **limits: int) -> tuple[list[int], list[bytes], ObjectContext]:
    """(records per run, every message but empty objects, ctx): runs are dropped as the pipeline drops them."""
    ctx = ObjectContext(source="test", limits=Limits(**limits))
    sizes: list[int] = []
    kept: list[bytes] = []
    for found in run(iter([data]), ctx):
        sizes.append(len(found.messages))
        kept.extend(message for message in found.messages if message != b"{}")
    return sizes, kept, ctx


@pytest.mark.parametrize("separator", [b"\n", b"||"])
def test_a_line_longer_than_max_record_bytes_is_counted_once_and_the_lines_after_it_delivered(
    separator: bytes,
) -> None:
    long = b"x" * 3000
    data = separator.join([b"first", long, b"second", long + long, b"third"]) + separator
    for size in (None, *CHUNK_SIZES, 1000):
        ctx = ObjectContext(source="test", limits=Limits(max_record_bytes=KIB))
        blocks = list(line_blocks(in_chunks(data, size), ctx, separator=separator))
        assert separator.join(blocks).split(separator) == [b"first", b"second", b"third"], size
        assert (ctx.stats.failed, ctx.stats.bytes_read) == (2, len(data))


def test_a_line_without_end_is_dropped_as_it_streams_not_gathered() -> None:
    chunk = b"\0" * (256 * KIB)
    ctx = ObjectContext(source="zeros")
    tracemalloc.start()
    try:
        blocks = list(line_blocks((chunk for _ in range(1024)), ctx))  # 256 MiB without a newline
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (blocks, ctx.stats.failed, ctx.stats.bytes_read) == ([], 1, 256 << 20)
    assert peak < 2 << 20  # bookkeeping, never the line


def test_a_long_line_that_ends_is_joined_once_and_delivered_whole() -> None:
    line = b"y" * (500 * KIB)
    blocks = list(line_blocks(in_chunks(b"a\n" + line + b"\nb\n", 4 * KIB), ObjectContext(source="test")))
    assert b"\n".join(blocks).split(b"\n") == [b"a", line, b"b"]


@pytest.mark.parametrize(
    ("kind", "config", "data", "count"),
    [
        ("line_split_processor", {}, b"a\n" * 12_000, 12_000),
        ("line_split_processor", {"json": True}, b"{}\n" * 12_000, 12_000),
        ("json_line_arrays_processor", {}, b"{}" * 12_000 + b"\n", 12_000),
        ("json_line_arrays_processor", {}, b"[" + b"{}," * 11_999 + b"{}]\n", 12_000),
        ("unseparated_json_processor", {}, b"{}" * 12_000, 12_000),
        ("separated_json_processor", {"separator": "|"}, b"{}|" * 12_000, 12_000),
        ("text_file_processor", {"field_separator": ","}, b"a,b\n" * 12_000, 12_000),
        ("vpc_flow_processor", {}, b"2 1 eni-1 - - - - - - - 1 2 - NODATA\n" * 12_000, 12_000),
        ("windows_security_processor", {}, b"<Event></Event>" * 12_000, 12_000),
        ("jamf_processor", {}, b"{}\n" * 12_000, 12_000),
        ("single_json_object_processor", {"key": "r"}, b'{"r":[' + b"{}," * 11_999 + b"{}]}", 12_000),
        ("json_array_processor", {}, b"[" + b"1," * 11_999 + b"1]", 12_000),
        ("dict_processor", {}, b"[" + b"{}," * 11_999 + b"{}]", 12_000),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_block_line_or_document_of_many_records_hands_them_on_records_per_run_at_a_time(
    kind: str, config: dict[str, Any], data: bytes, count: int
) -> None:
    sizes, _, ctx = runs_of(processor(kind, **config), data, records_per_run=1000)
    assert (sum(sizes), ctx.stats.failed) == (count, 0)
    assert max(sizes) <= 1000


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("json_line_arrays_processor", {}),
        ("json_line_arrays_processor", {"text_lines": True}),
        ("line_split_processor", {"json": True}),
        ("unseparated_json_processor", {"key": "findings"}),
    ],
)
def test_back_to_back_empty_objects_past_max_record_bytes_on_one_line_are_not_held_at_once(
    kind: str, config: dict[str, Any]
) -> None:
    line = b"{}" * (2 << 20)  # 4 MiB on one line: the shape of WAF, Route 53 and GuardDuty bombs
    tracemalloc.start()
    try:
        sizes, messages, ctx = runs_of(processor(kind, **config), b'{"ok":1}\n' + line + b'\n{"ok":2}\n')
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert messages == [b'{"ok":1}', b'{"ok":2}']
    if kind == "unseparated_json_processor":  # no lines: each `{}` is an object, handed on in runs
        assert (sum(sizes), max(sizes), ctx.stats.failed) == (2 + (2 << 20), 5000, 0)
    else:  # one line longer than max_record_bytes: one malformed record
        assert (sum(sizes), ctx.stats.failed) == (2, 1)
    assert peak < 24 << 20


DEEP = b'{"d":' * 600 + b"1" + b"}" * 600
PRETTY_DEEP = b"{\n" + DEEP[1:]  # written over lines: re-written as compact JSON


@pytest.mark.parametrize(
    ("kind", "config", "data"),
    [
        ("unseparated_json_processor", {}, b'{"n":1}' + DEEP + b'{"n":2}'),
        ("unseparated_json_processor", {"key": "d"}, b'{"n":1}' + DEEP + b'{"n":2}'),
        ("jamf_processor", {}, b'{"n":1}\n' + DEEP + b'\n{"n":2}\n'),
        ("json_line_arrays_processor", {}, b'{"n":1}\n[' + DEEP + b']\n{"n":2}\n'),
        ("json_line_arrays_processor", {}, b'{"n":1}\n' + PRETTY_DEEP + b'\n{"n":2}\n'),
        ("separated_json_processor", {"separator": "||"}, b'{"n":1}||' + PRETTY_DEEP + b'||{"n":2}'),
        ("json_array_processor", {}, b'[{"n":1},' + DEEP + b',{"n":2}]'),
        ("dict_processor", {}, b'[{"n":1},' + DEEP + b',{"n":2}]'),
    ],
)
def test_a_record_nested_too_deep_to_be_written_is_counted_and_the_rest_delivered(
    kind: str, config: dict[str, Any], data: bytes
) -> None:
    messages, _, ctx = same_in_every_chunking(processor(kind, **config), data)
    assert messages == [b'{"n":1}', b'{"n":2}']
    assert ctx.stats.failed == 1


def test_a_direct_mode_body_larger_than_max_body_bytes_is_one_malformed_record() -> None:
    ctx = ObjectContext(source="message body", limits=Limits(max_body_bytes=KIB))
    assert body_records(orjson.dumps([{"pad": "x" * 2000}]), ctx).messages == []
    assert ctx.stats.failed == 1
    small = ObjectContext(source="message body", limits=Limits(max_body_bytes=KIB))
    assert body_records(b'[{"a":1},{"b":2}]', small).messages == [b'{"a":1}', b'{"b":2}']


def test_a_dict_processor_object_larger_than_max_body_bytes_is_one_malformed_record() -> None:
    messages, _, ctx = records(processor("dict_processor"), b"[" + b"{}," * 2000 + b"{}]", max_body_bytes=KIB)
    assert (messages, ctx.stats.failed) == ([], 1)


def test_record_values_json_has_no_type_for_map_as_text_and_a_value_too_deep_is_unset() -> None:
    assert as_text(Decimal("12345678901234567890.123456789")) == "12345678901234567890.123456789"
    assert as_text({"b": b"\x00\xff"}) == '{"b":"AP8="}'
    assert as_text(orjson.loads(DEEP)) is None
