"""Parquet objects written by pyarrow itself: values JSON has no type for are converted (not dropped), and memory
is bounded in bytes, not rows: dictionary values counted in every row, declared sizes checked before reading."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devo_sqs.config.limits import Limits
from devo_sqs.config.models import Service
from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.processors.base import json_default
from devo_sqs.processing.processors.parquet_sizes import row_sizes
from devo_sqs.processing.records import ObjectContext

KIB, MIB = 1 << 10, 1 << 20
PARQUET = {"encoding": "parquet", "routing_template": "my.app.parquet"}


def parquet(table: pa.Table, **options: Any) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


def through_pipeline(data: bytes, **limits: int) -> tuple[list[list[bytes]], ObjectContext]:
    """The runs the pipeline sends for a parquet object, and its context."""
    pipeline = ServicePipeline("test", Service.model_validate(PARQUET), sqs_values={}, limits=Limits(**limits))
    ctx = ObjectContext(source="test.parquet")
    runs = [messages for _, messages in pipeline.run(io.BytesIO(data), "k", ctx, stored_bytes=len(data))]
    return runs, ctx


NS = 1_700_000_000_123_456_789
TYPED = pa.table(
    {
        "decimal": pa.array([Decimal("12345678901234567890.123456789"), None], pa.decimal128(38, 9)),
        "wide_decimal": pa.array([Decimal("-0.0000000001"), Decimal("1E+30")], pa.decimal256(50, 10)),
        "binary": pa.array([b"\x00\xff", b""], pa.binary()),
        "fixed": pa.array([b"abcd", b"\x01\x02\x03\x04"], pa.binary(4)),
        "ts_ns": pa.array([NS, None], pa.timestamp("ns")),
        "ts_us_utc": pa.array([NS // 1000, 0], pa.timestamp("us", tz="UTC")),
        "ts_ms_madrid": pa.array([NS // 10**6, 0], pa.timestamp("ms", tz="Europe/Madrid")),
        "ts_s": pa.array([NS // 10**9, 0], pa.timestamp("s")),
        "day": pa.array([date(2022, 1, 8), None], pa.date32()),
        "time_ns": pa.array([3_723_000_000_001, 0], pa.time64("ns")),
        "time_ms": pa.array([3_723_000, 1], pa.time32("ms")),
        "duration_ns": pa.array([90_061_000_000_001, -1_500_000_000], pa.duration("ns")),
        "duration_s": pa.array([5, None], pa.duration("s")),
        "nested": pa.array(
            [{"at": NS, "amount": Decimal("1.50"), "tags": ["a", "b"]}, None],
            pa.struct([("at", pa.timestamp("ns")), ("amount", pa.decimal128(5, 2)), ("tags", pa.list_(pa.string()))]),
        ),
        "times": pa.array([[NS, None], []], pa.list_(pa.timestamp("ns"))),
        "blobs": pa.array([[("k", b"\x00\x01")], None], pa.map_(pa.string(), pa.binary())),
        "label": pa.array(["same", "same"]).dictionary_encode(),
    }
)
EXPECTED = [
    b'{"decimal":12345678901234567890.123456789,"wide_decimal":-1E-10,"binary":"AP8=","fixed":"YWJjZA==",'
    b'"ts_ns":"2023-11-14T22:13:20.123456789","ts_us_utc":"2023-11-14T22:13:20.123456+00:00",'
    b'"ts_ms_madrid":"2023-11-14T23:13:20.123+01:00","ts_s":"2023-11-14T22:13:20.000","day":"2022-01-08",'
    b'"time_ns":"01:02:03.000000001","time_ms":"01:02:03.000","duration_ns":"PT90061.000000001S",'
    b'"duration_s":"PT5S","nested":{"at":"2023-11-14T22:13:20.123456789","amount":1.50,"tags":["a","b"]},'
    b'"times":["2023-11-14T22:13:20.123456789",null],"blobs":[["k","AAE="]],"label":"same"}',
    b'{"decimal":null,"wide_decimal":1000000000000000000000000000000.0000000000,"binary":"","fixed":"AQIDBA==","ts_ns":null,'
    b'"ts_us_utc":"1970-01-01T00:00:00.000000+00:00","ts_ms_madrid":"1970-01-01T01:00:00.000+01:00",'
    b'"ts_s":"1970-01-01T00:00:00.000","day":null,"time_ns":"00:00:00.000000000","time_ms":"00:00:00.001",'
    b'"duration_ns":"-PT1.500000000S","duration_s":null,"nested":null,"times":[],"blobs":null,"label":"same"}',
]


def test_values_json_has_no_type_for_are_converted_not_dropped() -> None:
    runs, ctx = through_pipeline(parquet(TYPED))
    assert [message for run in runs for message in run] == EXPECTED
    assert (ctx.stats.records, ctx.stats.sent, ctx.stats.failed) == (2, 2, 0)
    first = orjson.loads(EXPECTED[0])
    assert first["decimal"] == 12345678901234567890.123456789  # a JSON number


def test_a_month_day_nanosecond_interval_is_an_iso_8601_duration() -> None:
    assert json_default(pa.MonthDayNano([1, 2, 3])) == "P1M2DT0.000000003S"
    assert orjson.dumps(Decimal("3.14159265358979323846264338327950288"), default=json_default) == (
        b"3.14159265358979323846264338327950288"
    )


def dictionary_bomb(*, value_bytes: int, rows: int) -> bytes:
    """One text column holding one value repeated, dictionary-encoded: a few hundred bytes of parquet."""
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * value_bytes]))
    return parquet(pa.table({"a": column}), compression="zstd", store_schema=False)


def test_a_few_hundred_bytes_holding_one_mib_value_40000_times_fail_at_the_expansion_cap_without_output() -> None:
    data = dictionary_bomb(value_bytes=MIB, rows=40_000)
    assert len(data) < 600
    pipeline = ServicePipeline("test", Service.model_validate(PARQUET), sqs_values={})
    ctx = ObjectContext(source="bomb.parquet")
    sent = []
    with pytest.raises(PermanentObjectError, match=r"^decoded past limits\.max_expansion_ratio: \d+ bytes from"):
        for _, messages in pipeline.run(io.BytesIO(data), "k", ctx, stored_bytes=len(data)):
            sent.extend(messages)
    assert sent == []
    assert ctx.stats.failed == 3  # each row is larger than max_record_bytes; the fourth passes the 4 MiB floor


def test_rows_become_records_a_slice_of_bytes_at_a_time_and_too_large_rows_are_skipped() -> None:
    values = pa.array(["s" * (20 * KIB), "m" * (100 * KIB), "l" * (300 * KIB)])
    indices = pa.array([n % 3 for n in range(60)], pa.int32())
    data = parquet(pa.table({"a": pa.DictionaryArray.from_arrays(indices, values)}))
    runs, ctx = through_pipeline(data, parquet_slice_bytes=256 * KIB, max_record_bytes=256 * KIB)
    sent = [message for run in runs for message in run]
    assert [orjson.loads(message)["a"][0] for message in sent] == ["s", "m"] * 20
    assert ctx.stats.failed == 20
    assert max(sum(map(len, run)) for run in runs) <= 256 * KIB


def test_a_row_group_declaring_more_values_than_the_cap_allows_fails_before_it_is_read() -> None:
    zeros = pa.ListArray.from_arrays(pa.array([0, 3_000_000], pa.int32()), pa.array(bytes(3_000_000), pa.int8()))
    data = parquet(pa.table({"n": zeros.cast(pa.list_(pa.int64()))}), compression="zstd")
    assert len(data) < 4 * KIB
    with pytest.raises(PermanentObjectError, match=r"^parquet row group 0 declares 24000000 bytes of values"):
        through_pipeline(data)


@pytest.mark.parametrize(
    "column",
    [
        pa.array([["ab", "c"], [], None, ["x" * 50]]),
        pa.array([{"k": "v", "n": 1}, None, {"k": "", "n": 2}, {"k": "long" * 20, "n": 3}]),
        pa.array([[("a", "b")], [], None, [("c" * 30, "d")]], pa.map_(pa.string(), pa.string())),
        pa.array(["a", "bb", None, "c" * 100]).dictionary_encode(),
        pa.array([b"\x00", b"", None, b"\xff" * 30]),
    ],
    ids=["list", "struct", "map", "dictionary", "binary"],
)
def test_row_sizes_bound_each_row_as_json_from_the_arrow_columns(column: pa.Array) -> None:
    batch = pa.RecordBatch.from_arrays([column], names=["column"])
    written = [len(orjson.dumps(row, default=json_default)) for row in batch.to_pylist()]
    estimated = row_sizes(batch).each()
    assert all(size <= estimate <= 2 * size + 32 for size, estimate in zip(written, estimated, strict=True))
