"""`vpc_flow_processor` on inline text, and VPC flow logs in Parquet through the whole pipeline."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devo_sqs.config.models import Service
from devo_sqs.config.processors import VpcFlowConfig
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.processors.vpc_flow import VpcFlow
from devo_sqs.processing.records import ObjectContext
from tests.support.vpc_parquet import PARQUET_SCHEMA
from tests.unit.processing.parse_runs import measure_parse, slow


def run(data: bytes, *, size: int | None = None, parse: bool = True, **config: Any) -> tuple[list[bytes], list[Any]]:
    processor = VpcFlow(VpcFlowConfig(**config), parse_records=parse)
    chunks = [data] if size is None else [data[i : i + size] for i in range(0, len(data), size)]
    messages: list[bytes] = []
    parsed: list[Any] = []
    for records in processor(iter(chunks), ObjectContext(source="flow.log")):
        messages += records.messages
        parsed += records.parsed or []
    return messages, parsed


V3 = (
    b"version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport "
    b"pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status\r\n"
    b"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 "
    b"IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK\r\n"
    b"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 "
    b"IPv4 10.0.0.62 52.213.180.42 5001 43638  10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK"
)


@pytest.mark.parametrize("size", [None, 1, 2, 5, 7])
def test_the_header_names_the_fields_with_underscores_and_is_not_sent(size: int | None) -> None:
    messages, parsed = run(V3, size=size)
    assert messages == V3.split(b"\r\n")[1:]
    assert parsed[1]["srcport"] == "5001"
    assert parsed[1]["dstport"] == "43638"  # the double space before pkt-srcaddr is one separator
    assert (parsed[1]["pkt_srcaddr"], parsed[1]["tcp_flags"], parsed[1]["log_status"]) == ("10.0.0.62", "19", "OK")
    assert len(parsed[1]) == 21


V2_HEADER = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
V2_HEADER += b"action log-status"
V2_LINE = b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 "
V2_LINE += b"ACCEPT OK"
CUSTOM_HEADER = b"interface-id srcaddr action"
CUSTOM_LINE = b"eni-0123abcd 10.0.0.1 REJECT"


@pytest.mark.parametrize("size", [None, 1, 3, 7])
def test_a_header_anywhere_in_a_joined_object_is_not_sent_and_names_the_lines_after_it(size: int | None) -> None:
    data = b"\n".join([V2_HEADER, V2_LINE, CUSTOM_HEADER, CUSTOM_LINE, CUSTOM_LINE, V2_HEADER, V2_LINE]) + b"\n"
    messages, parsed = run(data, size=size)
    assert messages == [V2_LINE, CUSTOM_LINE, CUSTOM_LINE, V2_LINE]
    assert [record.get("srcaddr") for record in parsed] == ["172.31.16.139", "10.0.0.1", "10.0.0.1", "172.31.16.139"]
    assert parsed[1] == {"interface_id": "eni-0123abcd", "srcaddr": "10.0.0.1", "action": "REJECT"}
    assert parsed[3]["log_status"] == "OK"


def test_lines_before_the_first_header_take_the_default_fields_and_headers_are_dropped_unparsed() -> None:
    data = b"\n".join([V2_LINE, CUSTOM_HEADER, CUSTOM_LINE]) + b"\n"
    assert run(data, parse=False)[0] == [V2_LINE, CUSTOM_LINE]
    assert run(data)[1][0]["interface_id"] == "eni-1235b8ca123456789"


def test_a_data_line_of_lowercase_words_without_a_known_field_is_a_record() -> None:
    data = b"\n".join([CUSTOM_HEADER, b"eni-abc vpc-def ok", CUSTOM_LINE]) + b"\n"
    assert run(data, parse=False)[0] == [b"eni-abc vpc-def ok", CUSTOM_LINE]


def test_a_file_without_header_uses_the_default_v2_fields() -> None:
    line = b"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"
    messages, parsed = run(line + b"\n")
    assert messages == [line]
    assert parsed == [
        {
            "version": "2",
            "account_id": "123456789010",
            "interface_id": "eni-1235b8ca123456789",
            "srcaddr": "-",
            "dstaddr": "-",
            "srcport": "-",
            "dstport": "-",
            "protocol": "-",
            "packets": "-",
            "bytes": "-",
            "start": "1431280876",
            "end": "1431280934",
            "action": "-",
            "log_status": "NODATA",
        }
    ]


def test_field_names_name_a_custom_format_without_header_and_extra_values_are_column_n() -> None:
    _, parsed = run(b"5 eni-1 ingress 7\n", field_names=["version", "interface-id", "flow-direction"])
    assert parsed == [{"version": "5", "interface_id": "eni-1", "flow_direction": "ingress", "column_4": "7"}]


def test_a_file_holding_only_its_header_has_no_records() -> None:
    assert run(V3.split(b"\r\n")[0] + b"\n") == ([], [])


def test_fields_are_not_built_when_no_record_variable_needs_them() -> None:
    assert run(V3, parse=False) == (V3.split(b"\r\n")[1:], [])


def flow_rows(count: int, *, seed: int = 1) -> pa.Table:
    rng = random.Random(seed)
    rows = [
        {
            "version": 2,
            "account_id": "123456789012",
            "interface_id": f"eni-{rng.getrandbits(64):017x}",
            "srcaddr": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            "dstaddr": f"172.31.{rng.randrange(256)}.{rng.randrange(256)}",
            "srcport": rng.randrange(65536),
            "dstport": rng.choice((22, 443, 3389)),
            "protocol": 6,
            "packets": rng.randrange(1, 500),
            "bytes": rng.randrange(40, 10**6),
            "start": 1669842701 + index,
            "end": 1669842760 + index,
            "action": ("ACCEPT", "REJECT")[index % 2],
            "log_status": "OK",
        }
        for index in range(count)
    ]
    return pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA)


def parquet_bytes(table: pa.Table, *, row_group_size: int) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="gzip", row_group_size=row_group_size)
    return sink.getvalue()


@pytest.mark.parametrize("encoding", ["auto", "parquet"])
def test_parquet_flow_logs_are_sent_row_by_row_as_json_and_mapped_by_their_column_names(encoding: str) -> None:
    table = flow_rows(5000)
    service = Service.model_validate(
        {
            "encoding": encoding,
            "file_format": {"type": "vpc_flow_processor"},
            "record_field_mapping": {"action": {"keys": ["action"]}, "port": {"keys": ["dstport"]}},
            "routing_template": "cloud.aws.vpc.flow.[record-action].[record-port]",
        }
    )
    pipeline = ServicePipeline("aws_sqs_vpc", service, sqs_values={})
    ctx = ObjectContext(source="flow.parquet")
    data = parquet_bytes(table, row_group_size=1500)
    sent = [
        (tag, orjson.loads(message))
        for tag, messages in pipeline.run(io.BytesIO(data), "k", ctx)
        for message in messages
    ]
    expected = table.to_pylist()
    assert sorted(row["start"] for _, row in sent) == [row["start"] for row in expected]
    assert all(tag == f"cloud.aws.vpc.flow.{row['action']}.{row['dstport']}" for tag, row in sent)
    first = next(row for _, row in sent if row["start"] == expected[0]["start"])
    assert first == expected[0]
    assert (ctx.stats.records, ctx.stats.sent, ctx.stats.failed) == (5000, 5000, 0)


@slow
def test_a_200_mb_parquet_object_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "flow.parquet"
    block = flow_rows(100_000)
    row_group = pa.concat_tables([block] * 10)  # 1M rows: pyarrow's default row group length
    with pq.ParquetWriter(path, PARQUET_SCHEMA, compression="gzip", compression_level=1) as writer:
        while not path.exists() or path.stat().st_size < 200 * 10**6:
            writer.write_table(row_group)
    rows = pq.ParquetFile(path).metadata.num_rows
    result = measure_parse("--summary", "--service", "aws_sqs_vpc", path)
    peak_mib = result.peak_rss_bytes / 2**20
    print(
        f"parquet {path.stat().st_size / 1e6:.0f} MB, {rows} rows: {result.seconds:.1f} s, peak RSS {peak_mib:.0f} MiB"
    )
    path.unlink()
    assert result.code == 0
    assert orjson.loads(result.stdout) == {"cloud.aws.vpc.flow": rows}
    assert result.peak_rss_bytes < 250 * 2**20
