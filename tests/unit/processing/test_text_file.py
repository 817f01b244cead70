"""`text_file_processor` on inline inputs: CSV quoting across lines and chunks, header, names, JSON, skips."""

from __future__ import annotations

import io
from typing import Any

import pytest

from devo_sqs.config.models import Service
from devo_sqs.config.processors import TextFileConfig
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.processors import csv_records
from devo_sqs.processing.processors.text_file import HEADER_END_SEARCH_BYTES, TextFile
from devo_sqs.processing.records import ObjectContext

CHUNK_SIZES = [None, 1, 2, 3, 4, 5, 6, 7]


def chunked(data: bytes, size: int | None) -> list[bytes]:
    return [data] if size is None else [data[i : i + size] for i in range(0, len(data), size)]


def run(
    data: bytes, *, size: int | None = None, parse: bool = True, **config: Any
) -> tuple[list[bytes], list[Any] | None, ObjectContext]:
    processor = TextFile(TextFileConfig(**config), parse_records=parse)
    ctx = ObjectContext(source="test.csv")
    messages: list[bytes] = []
    parsed: list[Any] | None = [] if parse else None
    for records in processor(iter(chunked(data, size)), ctx):
        messages += records.messages
        if parsed is not None:
            assert records.parsed is not None
            parsed += records.parsed
        else:
            assert records.parsed is None
    return messages, parsed, ctx


QUOTED = (
    b"id,note,count\r\n"
    b'1,"plain",3\r\n'
    b'2,"a, comma and ""quotes""",4\r\n'
    b'3,"two\nlines\n\nand a blank one",5\n'
    b'4,"ends with CRLF inside\r\nthe quote",6\r\n'
    b"5,,7"
)
QUOTED_MESSAGES = [
    b'1,"plain",3',
    b'2,"a, comma and ""quotes""",4',
    b'3,"two\nlines\n\nand a blank one",5',
    b'4,"ends with CRLF inside\nthe quote",6',
    b"5,,7",
]
QUOTED_FIELDS = [
    {"id": "1", "note": "plain", "count": "3"},
    {"id": "2", "note": 'a, comma and "quotes"', "count": "4"},
    {"id": "3", "note": "two\nlines\n\nand a blank one", "count": "5"},
    {"id": "4", "note": "ends with CRLF inside\nthe quote", "count": "6"},
    {"id": "5", "note": "", "count": "7"},
]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_quoted_fields_may_hold_separators_quotes_and_newlines_whatever_the_chunk_boundaries(size: int | None) -> None:
    messages, parsed, ctx = run(QUOTED, size=size, field_separator=",", header=True)
    assert messages == QUOTED_MESSAGES
    assert parsed == QUOTED_FIELDS
    assert ctx.stats.failed == 0


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_records_are_cut_the_same_when_fields_are_not_needed(size: int | None) -> None:
    messages, parsed, ctx = run(QUOTED, size=size, parse=False, field_separator=",", header=True)
    assert messages == QUOTED_MESSAGES
    assert parsed is None
    assert ctx.stats.failed == 0


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_without_a_field_separator_each_non_empty_line_is_a_record_and_quotes_mean_nothing(size: int | None) -> None:
    messages, parsed, _ = run(b'first "line\r\n\nsecond, line\nthird', size=size)
    assert messages == [b'first "line', b"second, line", b"third"]
    assert parsed == [{"field_1": 'first "line'}, {"field_1": "second, line"}, {"field_1": "third"}]


def test_fields_without_names_are_field_1_to_n() -> None:
    _, parsed, _ = run(b"a,b\nc,d,e\n", field_separator=",")
    assert parsed == [{"field_1": "a", "field_2": "b"}, {"field_1": "c", "field_2": "d", "field_3": "e"}]


def test_field_names_win_over_the_header_which_is_still_not_sent_and_extra_values_are_field_n() -> None:
    messages, parsed, _ = run(b"h1,h2\na,b,c\nd\n", field_separator=",", header=True, field_names=["x", "y"])
    assert messages == [b"a,b,c", b"d"]
    assert parsed == [{"x": "a", "y": "b", "field_3": "c"}, {"x": "d"}]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_a_file_holding_only_its_header_has_no_records(size: int | None) -> None:
    assert run(b'"a","b"\r\n', size=size, field_separator=",", header=True)[0] == []


def test_an_empty_file_has_no_records() -> None:
    messages, parsed, ctx = run(b"", field_separator=",", header=True)
    assert (messages, parsed, ctx.stats.failed) == ([], [], 0)


def test_a_quoted_header_names_the_fields_when_records_are_not_otherwise_parsed() -> None:
    messages, parsed, _ = run(
        b'"first name","age"\n"Ann",7\n', parse=False, field_separator=",", header=True, use_json=True
    )
    assert messages == [b'{"first name":"Ann","age":"7"}']
    assert parsed is None


def test_use_json_sends_a_compact_object_of_the_named_fields_instead_of_the_line() -> None:
    messages, parsed, _ = run(b'a\tb\n1\t"x\ty"\n', field_separator="\t", header=True, use_json=True)
    assert messages == [b'{"a":"1","b":"x\\ty"}']
    assert parsed == [{"a": "1", "b": "x\ty"}]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_skip_lines_drops_non_empty_lines_before_the_header(size: int | None) -> None:
    data = b"\n# exported by tool\n\n# v1\nname value\nalpha 1\nbeta 2\n"
    messages, parsed, _ = run(data, size=size, field_separator=" ", skip_lines=2, header=True)
    assert messages == [b"alpha 1", b"beta 2"]
    assert parsed == [{"name": "alpha", "value": "1"}, {"name": "beta", "value": "2"}]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_header_end_drops_the_leading_block_up_to_the_marker_line(size: int | None) -> None:
    data = b"accountId:1\r\nformat:CEF\r\n|==|\r\nCEF:0|a|b\r\nCEF:0|c|d"
    assert run(data, size=size, parse=False, header_end="|==|")[0] == [b"CEF:0|a|b", b"CEF:0|c|d"]


def test_without_the_marker_line_header_end_drops_nothing() -> None:
    data = b"CEF:0|a|b\nnot |==| alone\nCEF:0|c|d\n"
    assert run(data, parse=False, header_end="|==|")[0] == [b"CEF:0|a|b", b"not |==| alone", b"CEF:0|c|d"]


def test_a_marker_past_the_search_window_is_an_ordinary_line() -> None:
    filler = b"x" * 100 + b"\n"
    data = filler * (HEADER_END_SEARCH_BYTES // len(filler) + 1) + b"|==|\nlast\n"
    messages = run(data, parse=False, header_end="|==|")[0]
    assert messages[-2:] == [b"|==|", b"last"]
    assert len(messages) == HEADER_END_SEARCH_BYTES // len(filler) + 3


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_an_unterminated_quote_at_the_end_is_counted_and_the_records_before_it_delivered(size: int | None) -> None:
    messages, parsed, ctx = run(b'a,b\nc,"never closed\n', size=size, field_separator=",")
    assert messages == [b"a,b"]
    assert parsed == [{"field_1": "a", "field_2": "b"}]
    assert ctx.stats.failed == 1


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_the_lines_an_unterminated_quote_swallowed_are_read_again(size: int | None) -> None:
    data = b'1,ok\n2,"broken\n3,""\n4,fine\n5,last'  # `""` inside the open quote is a quote, not its end
    messages, parsed, ctx = run(data, size=size, field_separator=",")
    assert messages == [b"1,ok", b'3,""', b"4,fine", b"5,last"]
    assert [record["field_2"] for record in parsed or []] == ["ok", "", "fine", "last"]
    assert ctx.stats.failed == 1


def test_a_quoted_record_past_the_bound_is_cut_and_the_lines_after_the_opening_one_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(csv_records, "MAX_QUOTED_RECORD_BYTES", 40)
    lines = [b'0,"opens here'] + [b"%d,row" % n for n in range(1, 11)] + [b'11,"quoted"', b'12,"open at the end']
    messages, parsed, ctx = run(b"\n".join(lines) + b"\n", size=16, field_separator=",")
    assert messages == lines[1:12]
    assert parsed is not None and parsed[-1] == {"field_1": "11", "field_2": "quoted"}
    assert ctx.stats.failed == 2


def test_quotechar_none_takes_quotes_as_plain_text() -> None:
    messages, parsed, _ = run(b'a,"b\nc",d\n', field_separator=",", quotechar=None)
    assert messages == [b'a,"b', b'c",d']
    assert parsed == [{"field_1": "a", "field_2": '"b'}, {"field_1": 'c"', "field_2": "d"}]


def test_skip_initial_space_reads_a_quoted_field_after_a_comma_and_a_space() -> None:
    data = b'"t","a,b", "c,d"\n'
    assert run(data, field_separator=",")[1] == [{"field_1": "t", "field_2": "a,b", "field_3": ' "c', "field_4": 'd"'}]
    assert run(data, field_separator=",", skip_initial_space=True)[1] == [
        {"field_1": "t", "field_2": "a,b", "field_3": "c,d"}
    ]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_a_custom_line_separator_and_a_multi_character_field_separator(size: int | None) -> None:
    messages, parsed, _ = run(b"a||b\x1ec||d||e\x1e", size=size, line_separator="\x1e", field_separator="||")
    assert messages == [b"a||b", b"c||d||e"]
    assert parsed == [{"field_1": "a", "field_2": "b"}, {"field_1": "c", "field_2": "d", "field_3": "e"}]


def test_header_fields_route_records_through_the_pipeline() -> None:
    service = Service.model_validate(
        {
            "encoding": "none",
            "file_format": {"type": "text_file_processor", "config": {"field_separator": ",", "header": True}},
            "record_field_mapping": {"action": {"keys": ["action"]}},
            "routing_template": "my.app.csv.[record-action]",
        }
    )
    pipeline = ServicePipeline("csv", service, sqs_values={})
    ctx = ObjectContext(source="x.csv")
    data = b'time,action\n1,"allow"\n2,"block"\n3,allow\n'
    runs = [(tag, messages) for tag, messages in pipeline.run(io.BytesIO(data), "x.csv", ctx)]
    assert runs == [("my.app.csv.allow", [b'1,"allow"', b"3,allow"]), ("my.app.csv.block", [b'2,"block"'])]
