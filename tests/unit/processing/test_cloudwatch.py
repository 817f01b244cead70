"""`cloudwatch_logs_processor`: CloudWatch Logs subscription payloads as Firehose writes them to S3."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import orjson
import pytest

from tests.support.realdata import REALDATA, needs_realdata
from tests.unit.processing.harness import parse_cli, processor, records, same_in_every_chunking
from tests.unit.processing.parse_runs import config_file

SUBSCRIPTION = REALDATA / "aws_cloudwatch_logs_subscription"


def payload(group: str, *events: tuple[str, int, str], kind: str = "DATA_MESSAGE") -> bytes:
    return orjson.dumps(
        {
            "messageType": kind,
            "owner": "111111111111",
            "logGroup": group,
            "logStream": "stream-1",
            "subscriptionFilters": ["to-firehose"],
            "logEvents": [{"id": event_id, "timestamp": ts, "message": text} for event_id, ts, text in events],
        }
    )


CONTROL = payload(
    "", ("", 1600110003794, "CWL CONTROL MESSAGE: Checking health of destination Firehose."), kind="CONTROL_MESSAGE"
)
TWO_PAYLOADS = (
    payload("/aws/lambda/f", ("e1", 1, "START RequestId: 1\n"), ("e2", 2, "line one\nline two\n"))
    + CONTROL
    + b"\n"
    + payload("/aws/rds/db", ("e3", 3, '{"user":"admin","status":"ok"}'))
)


def test_each_log_event_is_a_record_sent_as_its_exact_message_text() -> None:
    messages, _, ctx = same_in_every_chunking(processor("cloudwatch_logs_processor"), TWO_PAYLOADS)
    assert messages == [b"START RequestId: 1\n", b"line one\nline two\n", b'{"user":"admin","status":"ok"}']
    assert (ctx.stats.failed, ctx.stats.bytes_read) == (0, len(TWO_PAYLOADS))


def test_the_parsed_record_has_the_payload_fields_and_a_json_message_under_json() -> None:
    _, parsed, _ = records(processor("cloudwatch_logs_processor"), TWO_PAYLOADS)
    stream = {"logStream": "stream-1", "owner": "111111111111"}
    assert parsed == [
        {"logGroup": "/aws/lambda/f", **stream, "id": "e1", "timestamp": 1, "message": "START RequestId: 1\n"},
        {"logGroup": "/aws/lambda/f", **stream, "id": "e2", "timestamp": 2, "message": "line one\nline two\n"},
        {
            "logGroup": "/aws/rds/db",
            **stream,
            "id": "e3",
            "timestamp": 3,
            "message": '{"user":"admin","status":"ok"}',
            "json": {"user": "admin", "status": "ok"},
        },
    ]


def test_records_are_not_built_when_no_mapping_needs_them() -> None:
    messages, parsed, _ = records(processor("cloudwatch_logs_processor", parse=False), TWO_PAYLOADS)
    assert (len(messages), parsed) == (3, None)


def test_a_control_message_alone_gives_nothing_and_is_no_failure() -> None:
    messages, _, ctx = records(processor("cloudwatch_logs_processor"), CONTROL)
    assert (messages, ctx.stats.failed) == ([], 0)


def test_events_without_text_and_objects_that_are_no_payload_are_counted_and_skipped() -> None:
    bad_events = orjson.dumps(
        {"logGroup": "g", "logEvents": [{"id": "1", "message": "kept"}, {"id": "2"}, {"message": 5}]}
    )
    data = bad_events + b'{"unrelated":true}' + payload("g", ("3", 3, "also \u00ff kept"))
    messages, _, ctx = same_in_every_chunking(processor("cloudwatch_logs_processor"), data + b'{"logEvents":')
    assert messages == [b"kept", "also \u00ff kept".encode()]
    assert ctx.stats.failed == 4


def test_a_firehose_http_request_is_unwrapped_into_its_payloads() -> None:
    request = orjson.dumps(
        {
            "requestId": "r-1",
            "timestamp": 1600110760138,
            "records": [
                {"data": base64.b64encode(gzip.compress(TWO_PAYLOADS)).decode()},
                {"data": base64.b64encode(payload("g", ("9", 9, "plain"))).decode()},
                {"data": "not base64!"},
            ],
        }
    )
    messages, _, ctx = records(processor("cloudwatch_logs_processor"), request)
    assert messages == [b"START RequestId: 1\n", b"line one\nline two\n", b'{"user":"admin","status":"ok"}', b"plain"]
    assert ctx.stats.failed == 1


# --- genuine payloads ---------------------------------------------------------------------------------------

GENUINE = [
    ("awsdocs_cwl-data-message-kinesis-example.json", 3),
    ("datadog_cloudwatch_logs.json", 19),
    ("datadog_cloudwatch_logs_2.json", 1),
    ("datadog_cloudwatch_logs_ddtags.json", 1),
    ("vector-docs_cwl-data-message-record0.json.gz", 2),
    ("vector-docs_firehose-http-request-with-gzipped-cwl-data.json", 2),
    ("vector-tests_cwl-control-message.json", 0),
]


@needs_realdata
@pytest.mark.parametrize(
    ("service", "tag"),
    [
        ("aws_sqs_cloudwatch", "cloud.aws.cloudwatch.logs"),
        ("aws_sqs_cloudwatch_vpc", "cloud.aws.vpc.flow"),
        ("aws_sqs_rds", "cloud.aws.rds.audit.null.null"),  # no queue: region and account unknown
    ],
)
@pytest.mark.parametrize(("name", "count"), GENUINE, ids=[name for name, _ in GENUINE])
def test_genuine_payloads_give_one_record_per_log_event(
    capsysbinary: pytest.CaptureFixture[bytes], service: str, tag: str, name: str, count: int
) -> None:
    code, tagged, err = parse_cli(capsysbinary, "--service", service, str(SUBSCRIPTION / name))
    assert code == 0
    assert [found for found, _ in tagged] == [tag] * count
    assert f"records={count} sent={count} filtered=0 failed=0" in err


@needs_realdata
def test_genuine_messages_are_sent_exactly_with_their_newlines() -> None:
    path = SUBSCRIPTION / "datadog_cloudwatch_logs.json"
    messages, parsed, _ = records(processor("cloudwatch_logs_processor"), path.read_bytes(), chunk_size=1000)
    assert messages == [event["message"].encode() for event in orjson.loads(path.read_bytes())["logEvents"]]
    assert messages[-2] == b"END RequestId: f08bb4c8-d6b2-4f05-ac17-af7e2ba005fb\n"
    assert parsed is not None
    assert parsed[4]["json"]["m"] == "aws.lambda.enhanced.invocations"
    assert "json" not in parsed[0]


@needs_realdata
def test_the_firehose_request_and_its_decoded_record_give_the_same_events(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    _, tagged, _ = parse_cli(
        capsysbinary,
        "--service",
        "aws_sqs_cloudwatch",
        str(SUBSCRIPTION / "vector-docs_firehose-http-request-with-gzipped-cwl-data.json"),
        str(SUBSCRIPTION / "vector-docs_cwl-data-message-record0.json.gz"),
    )
    messages = [message for _, message in tagged]
    assert messages[:2] == messages[2:]
    assert messages[0].startswith(b'{"bytes":26780,"datetime":"14/Sep/2020:11:45:41 -0400","host":"157.130.216.193"')


@needs_realdata
def test_mapping_reaches_the_payload_fields_and_the_json_inside_a_message(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    config = config_file(
        tmp_path,
        {
            "custom_service": {
                "file_format": {"type": "cloudwatch_logs_processor"},
                "record_field_mapping": {
                    "group": {
                        "keys": ["logGroup"],
                        "operations": [{"operator": "split", "on": "/", "element": 2}],
                    },
                    "status": {"keys": ["json", "status"]},
                },
                "routing_template": "my.app.[record-group].[record-status]",
            }
        },
    )
    files = ["datadog_cloudwatch_logs_2.json", "datadog_cloudwatch_logs_ddtags.json"]
    _, tagged, _ = parse_cli(
        capsysbinary,
        "--config",
        str(config),
        "--service",
        "custom_service",
        *(str(SUBSCRIPTION / f) for f in files),
    )
    assert [tag for tag, _ in tagged] == ["my.app.rds.info", "my.app.lambda.debug"]
