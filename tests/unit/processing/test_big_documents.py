"""Single JSON documents above the streaming threshold: their list of records streamed with ijson.

The threshold is lowered in these tests so a few-MB generated file takes the path a >16 MiB object takes.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.processors import json_documents
from devo_sqs.processing.records import ObjectContext
from tests.unit.processing.harness import REALDATA, parse_cli, processor, records

CLOUDTRAIL = REALDATA / "aws_cloudtrail"


def cloudtrail_record(n: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::123456789012:assumed-role/Admin/s{n}"},
        "eventTime": "2024-01-16T12:47:04Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": ["us-east-1", "eu-west-1"][n % 2],
        "sourceIPAddress": f"10.0.{n % 256}.1",
        "requestParameters": {"maxResults": 1000, "ratio": 0.25, "note": "}{ \u00e9"},
        "recipientAccountId": "123456789012",
    }


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every document above 64 KiB takes the streaming path."""
    monkeypatch.setattr(json_documents, "STREAM_ABOVE_BYTES", 64 << 10)


def test_a_big_cloudtrail_file_streams_every_record_under_its_tag(
    streamed: None, capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    expected = [cloudtrail_record(n) for n in range(3000)]
    path = tmp_path / "123456789012_CloudTrail_us-east-1_20240116T1250Z_x.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps({"Records": expected}), compresslevel=1))
    code, tagged, err = parse_cli(capsysbinary, "--service", "aws_sqs_cloudtrail", str(path))
    assert code == 0
    by_region = {
        region: [orjson.dumps(r) for r in expected if r["awsRegion"] == region] for region in ("us-east-1", "eu-west-1")
    }
    for region, messages in by_region.items():
        assert [message for tag, message in tagged if tag == f"cloud.aws.cloudtrail.123456789012.{region}"] == messages
    assert len(tagged) == 3000
    assert "records=3000 sent=3000 filtered=0 failed=0" in err


GENUINE = [
    ("awsdocs_log-file-example-2.json", 1),
    ("awsdocs_log-file-example-9.json", 2),
    ("beats_aws-cloudtrail.json", 63),
    ("loki-lambda-promtail_cloudtrail-log-file.json.gz", 2),
    ("awsdocs_log-file-example-7-createrole-INVALID-as-published.json", None),
]


@pytest.mark.skipif(not CLOUDTRAIL.is_dir(), reason=f"{CLOUDTRAIL} is not here")
@pytest.mark.parametrize(("name", "count"), GENUINE, ids=[name for name, _ in GENUINE])
def test_genuine_cloudtrail_files_give_the_same_records_streamed_as_parsed_whole(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch, name: str, count: int | None
) -> None:
    whole = parse_cli(capsysbinary, "--service", "aws_sqs_cloudtrail", str(CLOUDTRAIL / name))
    monkeypatch.setattr(json_documents, "STREAM_ABOVE_BYTES", 0)
    streamed = parse_cli(capsysbinary, "--service", "aws_sqs_cloudtrail", str(CLOUDTRAIL / name))
    assert streamed[:2] == whole[:2]
    if count is None:
        assert (whole[0], whole[1]) == (1, [])
        assert "ERROR not a JSON document" in streamed[2]
    else:
        assert (whole[0], len(whole[1])) == (0, count)


def stream(data: bytes, **config: Any) -> tuple[list[bytes], Any]:
    kind = "single_json_object_processor" if config else "json_array_processor"
    messages, _, ctx = records(processor(kind, **config), data, chunk_size=1000)
    return messages, ctx


def test_records_before_a_fault_are_delivered_then_the_object_fails(streamed: None) -> None:
    serialized = [orjson.dumps(cloudtrail_record(n)) for n in range(500)]
    data = (b'{"Records":[' + b",".join(serialized) + b"]}")[:-5000]
    complete = sum(1 for n in range(500) if len(b'{"Records":[' + b",".join(serialized[: n + 1])) <= len(data))
    messages = []
    run = processor("single_json_object_processor", key="Records")
    with pytest.raises(PermanentObjectError, match="not a JSON document"):
        for found in run(iter([data[:70000], data[70000:]]), ObjectContext(source="test")):
            messages.extend(found.messages)
    assert messages == serialized[:complete]
    assert complete == 486


def test_a_bom_and_invalid_utf8_in_a_streamed_document_are_dropped_and_counted(streamed: None) -> None:
    records_ = [{"n": n, "pad": "x" * 100} for n in range(1000)]
    data = b"\xef\xbb\xbf" + orjson.dumps({"Records": records_}).replace(b'"n":7,', b'"n":7,"bad":"\xff",', 1)
    messages, context = stream(data, key="Records")
    assert len(messages) == 1000
    assert messages[7] == '{"n":7,"bad":"\ufffd","pad":"'.encode() + b"x" * 100 + b'"}'
    assert (context.stats.replaced_bytes, context.stats.bytes_read) == (1, len(data))


def test_a_streamed_document_under_a_nested_key_or_a_top_level_array(streamed: None) -> None:
    items = [{"n": n, "f": n / 4} for n in range(5000)]
    assert stream(orjson.dumps({"meta": {"v": 1}, "a": {"b": items}}), key="a.b")[0] == [orjson.dumps(i) for i in items]
    assert stream(orjson.dumps(items))[0] == [orjson.dumps(item) for item in items]


def test_a_big_document_without_the_list_is_one_malformed_record(streamed: None) -> None:
    messages, context = stream(orjson.dumps({"Other": ["x" * 100] * 1000}), key="Records")
    assert (messages, context.stats.failed) == ([], 1)
