"""JSON documents above `limits.whole_document_bytes`: walked as a stream, the list of records found and its
elements parsed a window at a time, each at most `max_record_bytes`.

`whole_document_bytes: 0` makes small documents take the path a big object takes, so they can be cut in
chunks of 1-7 bytes and compared with the same document parsed whole.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.records import ObjectContext
from tests.support.realdata import REALDATA, needs_realdata
from tests.unit.processing.harness import parse_cli, processor, records, same_in_every_chunking
from tests.unit.processing.parse_runs import config_file

CLOUDTRAIL = REALDATA / "aws_cloudtrail"
STREAMED = {"whole_document_bytes": 0}


def cloudtrail_record(n: int) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::123456789012:assumed-role/Admin/s{n}"},
        "eventTime": "2024-01-16T12:47:04Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": ["us-east-1", "eu-west-1"][n % 2],
        "sourceIPAddress": f"10.0.{n % 256}.1",
        "requestParameters": {"maxResults": 1000, "ratio": 0.25, "note": "}{ \u00e9", "policy": '[{"a":1},{"b":2}]'},
        "resources": [{"ARN": f"arn:aws:s3:::b{n}", "type": "AWS::S3::Bucket"}, {"ARN": "x", "type": "y"}],
        "recipientAccountId": "123456789012",
    }


def test_a_big_cloudtrail_file_streams_every_record_under_its_tag(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    expected = [cloudtrail_record(n) for n in range(5000)]
    document = orjson.dumps({"Records": expected})
    assert len(document) > 2 << 20  # above the default whole_document_bytes
    path = tmp_path / "123456789012_CloudTrail_us-east-1_20240116T1250Z_x.json.gz"
    path.write_bytes(gzip.compress(document, compresslevel=1))
    code, tagged, err = parse_cli(capsysbinary, "--service", "aws_sqs_cloudtrail", str(path))
    assert code == 0
    by_region = {
        region: [orjson.dumps(r) for r in expected if r["awsRegion"] == region] for region in ("us-east-1", "eu-west-1")
    }
    for region, messages in by_region.items():
        assert [message for tag, message in tagged if tag == f"cloud.aws.cloudtrail.123456789012.{region}"] == messages
    assert len(tagged) == 5000
    assert "records=5000 sent=5000 filtered=0 failed=0" in err


GENUINE = [
    ("awsdocs_log-file-example-2.json", 1),
    ("awsdocs_log-file-example-9.json", 2),
    ("beats_aws-cloudtrail.json", 63),
    ("loki-lambda-promtail_cloudtrail-log-file.json.gz", 2),
    ("awsdocs_log-file-example-7-createrole-INVALID-as-published.json", None),
]


@needs_realdata
@pytest.mark.parametrize(("name", "count"), GENUINE, ids=[name for name, _ in GENUINE])
def test_genuine_cloudtrail_files_give_the_same_records_streamed_as_parsed_whole(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, name: str, count: int | None
) -> None:
    whole = parse_cli(capsysbinary, "--service", "aws_sqs_cloudtrail", str(CLOUDTRAIL / name))
    config = config_file(tmp_path, {"aws_sqs_cloudtrail": {}}, **STREAMED)
    args = ("--config", str(config), "--service", "aws_sqs_cloudtrail", str(CLOUDTRAIL / name))
    streamed = parse_cli(capsysbinary, *args)
    assert streamed[:2] == whole[:2]
    if count is None:
        assert (whole[0], whole[1]) == (1, [])
        assert "ERROR not a JSON document" in streamed[2]
    else:
        assert (whole[0], len(whole[1])) == (0, count)


def stream(data: bytes, chunk_size: int | None = 1000, **config: Any) -> tuple[list[bytes], ObjectContext]:
    kind = "single_json_object_processor" if config else "json_array_processor"
    messages, _, ctx = records(processor(kind, **config), data, chunk_size=chunk_size, **STREAMED)
    return messages, ctx


@pytest.mark.parametrize(
    "document",
    [
        {"Records": [cloudtrail_record(n) for n in range(4)]},
        {"meta": {"v": [1, {"Records": "not here"}]}, "Records": [{"a": "]},{"}, [1, 2], "text", 3, None, {}]},
        {"Records": {"only": "one record"}},
        {"Records": []},
    ],
    ids=["cloudtrail", "elements-of-every-kind", "one-object", "empty-list"],
)
def test_a_streamed_document_gives_the_records_of_the_whole_one_in_every_chunking(document: Any) -> None:
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    run = processor("single_json_object_processor", key="Records")
    whole, _, _ = records(run, data)
    streamed, _, ctx = same_in_every_chunking(run, data, **STREAMED)
    assert streamed == whole
    assert ctx.stats.failed == 0
    assert ctx.stats.bytes_read == len(data)


def test_records_before_a_fault_are_delivered_then_the_object_fails() -> None:
    serialized = [orjson.dumps(cloudtrail_record(n)) for n in range(500)]
    data = (b'{"Records":[' + b",".join(serialized) + b"]}")[:-5000]
    complete = sum(1 for n in range(500) if len(b'{"Records":[' + b",".join(serialized[: n + 1])) <= len(data))
    messages = []
    run = processor("single_json_object_processor", key="Records")
    ctx = ObjectContext(source="test", limits=ObjectContext(source="").limits.model_copy(update=STREAMED))
    with pytest.raises(PermanentObjectError, match="not a JSON document: the document ends inside"):
        for found in run(iter([data[:70000], data[70000:]]), ctx):
            messages.extend(found.messages)
    assert messages == serialized[:complete]
    assert complete == 490


def test_a_list_element_that_is_not_json_fails_the_object_after_the_records_before_it() -> None:
    data = b'{"Records":[{"a":1},{"b":2},{"c":},{"d":4}]}'
    with pytest.raises(PermanentObjectError, match="not a JSON document"):
        stream(data, chunk_size=7, key="Records")


def test_a_bom_and_invalid_utf8_in_a_streamed_document_are_dropped_and_counted() -> None:
    records_ = [{"n": n, "pad": "x" * 100} for n in range(1000)]
    data = b"\xef\xbb\xbf" + orjson.dumps({"Records": records_}).replace(b'"n":7,', b'"n":7,"bad":"\xff",', 1)
    messages, context = stream(data, key="Records")
    assert len(messages) == 1000
    assert messages[7] == '{"n":7,"bad":"\ufffd","pad":"'.encode() + b"x" * 100 + b'"}'
    assert (context.stats.replaced_bytes, context.stats.bytes_read) == (1, len(data))


def test_a_streamed_document_under_a_nested_key_or_a_top_level_array() -> None:
    items = [{"n": n, "f": n / 4} for n in range(5000)]
    assert stream(orjson.dumps({"meta": {"v": 1}, "a": {"b": items}}), key="a.b")[0] == [orjson.dumps(i) for i in items]
    assert stream(orjson.dumps(items))[0] == [orjson.dumps(item) for item in items]


def test_a_big_document_without_the_list_is_one_malformed_record() -> None:
    messages, context = stream(orjson.dumps({"Other": ["x" * 100] * 1000}), key="Records")
    assert (messages, context.stats.failed) == ([], 1)


def test_a_streamed_document_without_key_takes_its_fallback_key() -> None:
    item = {"configurationItemStatus": "OK", "resourceType": "AWS::EC2::Instance", "tags": {"a": "b"}}
    data = orjson.dumps({"configurationItemDiff": {"x": [1, 2]}, "configurationItem": item, "messageType": "Oversized"})
    messages, context = stream(data, chunk_size=3, key="configurationItems", fallback_key="configurationItem")
    assert (messages, context.stats.failed) == ([orjson.dumps(item)], 0)


def test_a_record_longer_than_max_record_bytes_is_skipped_and_the_rest_delivered() -> None:
    big = {"eventName": "Huge", "requestParameters": {"data": "y" * 5000, "list": [{"k": n} for n in range(100)]}}
    small = [{"n": n} for n in range(3)]
    data = orjson.dumps({"Records": [small[0], big, small[1], "z" * 3000, small[2]]})
    messages, _, ctx = same_in_every_chunking(
        processor("single_json_object_processor", key="Records"), data, max_record_bytes=2048, **STREAMED
    )
    assert messages == [orjson.dumps(record) for record in small]
    assert ctx.stats.failed == 2


def test_a_record_nested_deeper_than_json_can_be_written_is_skipped_and_the_rest_delivered() -> None:
    deep = b'{"d":' * 600 + b"1" + b"}" * 600
    data = b'{"Records":[{"n":1},' + deep + b',{"n":2}]}'
    for limits in ({}, STREAMED):
        messages, _, ctx = records(processor("single_json_object_processor", key="Records"), data, **limits)
        assert messages == [b'{"n":1}', b'{"n":2}']
        assert ctx.stats.failed == 1
