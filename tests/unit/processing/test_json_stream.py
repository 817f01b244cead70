"""The back-to-back JSON scanner under every processor of the JSON family."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from devo_sqs.config.limits import Limits
from devo_sqs.processing.processors import json_stream
from devo_sqs.processing.processors.json_stream import json_values, value_end, value_spans
from devo_sqs.processing.records import ObjectContext
from tests.unit.processing.harness import CHUNK_SIZES, in_chunks


def values(
    data: bytes, *, chunk_size: int | None = None, charset: str = "utf-8", **limits: int
) -> tuple[list[Any], ObjectContext]:
    ctx = ObjectContext(source="test", charset=charset, limits=Limits(**limits))
    return [value for run in json_values(in_chunks(data, chunk_size), ctx) for value in run], ctx


def values_in_every_chunking(data: bytes, **kwargs: Any) -> tuple[list[Any], ObjectContext]:
    whole, ctx = values(data, **kwargs)
    for size in CHUNK_SIZES:
        cut, cut_ctx = values(data, chunk_size=size, **kwargs)
        assert (cut, cut_ctx.stats.failed, cut_ctx.stats.replaced_bytes) == (
            whole,
            ctx.stats.failed,
            ctx.stats.replaced_bytes,
        ), f"chunks of {size} bytes"
    return whole, ctx


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a":1}{"b":2}', [{"a": 1}, {"b": 2}]),
        (b'{"a":1}\n{"b":2}\n', [{"a": 1}, {"b": 2}]),
        (b'{"a":1}\r\n{"b":2}\r\n', [{"a": 1}, {"b": 2}]),
        (b'{"a":1}  \t {"b":2}', [{"a": 1}, {"b": 2}]),
        (b'{\n  "a": {\n    "n": [1, 2]\n  }\n}\n{\n  "b": 2\n}', [{"a": {"n": [1, 2]}}, {"b": 2}]),
        (b'\xef\xbb\xbf{"a":1}{"b":2}', [{"a": 1}, {"b": 2}]),
        (b'[{"a":1},{"b":2}]{"c":3}', [{"a": 1}, {"b": 2}, {"c": 3}]),
        (b"", []),
        (b" \r\n\n ", []),
    ],
    ids=["no-gap", "newlines", "crlf", "spaces", "pretty", "bom", "array-is-its-elements", "empty", "blank"],
)
def test_values_written_back_to_back_are_read_whole_whatever_the_chunking(data: bytes, expected: list[Any]) -> None:
    found, ctx = values_in_every_chunking(data)
    assert found == expected
    assert ctx.stats.failed == 0
    assert ctx.stats.bytes_read == len(data)


def test_a_boundary_lookalike_inside_a_string_does_not_split_the_value() -> None:
    data = b'{"a":"}{"}{"b":"x} {y"}\n{"c":"}\\n{"}'
    found, ctx = values_in_every_chunking(data)
    assert found == [{"a": "}{"}, {"b": "x} {y"}, {"c": "}\n{"}]
    assert ctx.stats.failed == 0


def test_lookalikes_in_big_blocks_are_found_by_halving_and_every_value_comes_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(json_stream, "BISECT_BYTES", 64)
    expected = [{"n": n, "s": "}{" if n % 7 == 3 else "plain"} for n in range(200)]
    data = b"".join(orjson.dumps(value) for value in expected)
    assert values(data)[0] == expected
    assert values(data, chunk_size=1000)[0] == expected


@pytest.mark.parametrize(
    ("data", "expected", "failed"),
    [
        (b'{"a":1}{"b":}{"c":3}', [{"a": 1}, {"c": 3}], 1),
        (b'{"a":1}\n{"b" 2}\n{"c":3}', [{"a": 1}, {"c": 3}], 1),
        (b'{"a":1} garbage {"c":3}', [{"a": 1}, {"c": 3}], 1),
        (b'{"a":1}}{"c":3}', [{"a": 1}, {"c": 3}], 1),
        (b'{"a":{"b":1}\n{"c":3}', [{"c": 3}], 1),
        (b'{"a":"unterminated\n{"c":3}', [{"c": 3}], 1),
        (b'{"a":1}{"b":2', [{"a": 1}], 1),
        (b'{"a":1} 42 "text" {"c":3}', [{"a": 1}, {"c": 3}], 2),
    ],
    ids=["bad-value", "missing-colon", "garbage", "extra-brace", "unclosed", "unterminated", "cut-at-end", "scalars"],
)
def test_a_malformed_value_is_counted_and_skipped_and_the_rest_delivered(
    data: bytes, expected: list[Any], failed: int
) -> None:
    found, ctx = values_in_every_chunking(data)
    assert found == expected
    assert ctx.stats.failed == failed


def test_invalid_utf8_is_replaced_and_counted() -> None:
    found, ctx = values_in_every_chunking(b'{"a":"\xff\xfe"}{"b":"\xc3\xa9"}')
    assert found == [{"a": "\ufffd\ufffd"}, {"b": "\u00e9"}]
    assert ctx.stats.replaced_bytes == 2


@pytest.mark.parametrize(
    ("charset", "data"),
    [
        ("latin-1", '{"a":"\u00e9"}{"b":"\u00fc"}'.encode("latin-1")),
        ("utf-16", '{"a":"\u00e9"}{"b":"\u00fc"}'.encode("utf-16")),
    ],
)
def test_other_charsets_are_converted_while_streaming(charset: str, data: bytes) -> None:
    found, ctx = values_in_every_chunking(data, charset=charset)
    assert found == [{"a": "\u00e9"}, {"b": "\u00fc"}]
    assert ctx.stats.bytes_read == len(data)


def test_a_value_longer_than_the_record_limit_is_skipped_up_to_the_next_boundary() -> None:
    data = b'{"a":1}' + orjson.dumps({"big": "x" * 3000}) + b'{"c":3}{"d":4}'
    found, ctx = values(data, chunk_size=400, max_record_bytes=1024)
    assert found == [{"a": 1}, {"c": 3}, {"d": 4}]
    assert ctx.stats.failed == 1


def test_value_spans_keeps_each_value_as_written() -> None:
    ctx = ObjectContext(source="test")
    spans, rest = value_spans(b' {"a": 1}{"b":"\\/"}  {"c"', ctx, final=False)
    assert spans == [(b'{"a": 1}', {"a": 1}), (b'{"b":"\\/"}', {"b": "/"})]
    assert rest == b'{"c"'
    assert ctx.stats.failed == 0


@pytest.mark.parametrize(
    ("text", "end"),
    [(b'{"a":"}"} x', 9), (b"[1,[2]],", 7), (b'"q\\"x" ', 6), (b"true,", 4), (b'{"a":', None), (b'"open', None)],
)
def test_the_bracket_scanner_finds_where_a_value_ends(text: bytes, end: int | None) -> None:
    assert value_end(text, 0) == end
