"""A compiled service on whole objects: decode, split, map, filter, route."""

from __future__ import annotations

import gzip
import io
from typing import Any

import orjson

from devo_sqs.config.loader import parse_config
from devo_sqs.config.models import Service
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.records import ObjectContext
from devo_sqs.processing.services import ServiceRouter

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"


def pipeline(**service: Any) -> ServicePipeline:
    return ServicePipeline("test", Service.model_validate(service), sqs_values={"region": "eu-west-1", "account": "1"})


def run(
    pipe: ServicePipeline, data: bytes, key: str = "logs/app/x.log"
) -> tuple[list[tuple[str, bytes]], ObjectContext]:
    ctx = ObjectContext(source=key)
    records = [(tag, message) for tag, messages in pipe.run(io.BytesIO(data), key, ctx) for message in messages]
    return records, ctx


NDJSON = b"".join(orjson.dumps({"type": kind, "n": n}) + b"\n" for n, kind in enumerate(["web", "db", "ldap", "web"]))


def test_ndjson_records_are_routed_by_a_mapped_field_and_sent_as_the_original_line() -> None:
    pipe = pipeline(
        file_format={"type": "line_split_processor", "config": {"json": True}},
        record_field_mapping={"type": {"keys": ["type"]}},
        file_field_definitions={"app": [{"operator": "split", "on": "/", "element": 1}]},
        routing_template="my.app.[file-app].[record-type]",
        line_filter_rules=[[{"source": "record", "key": "type", "type": "match", "value": "ldap"}]],
    )
    records, ctx = run(pipe, gzip.compress(NDJSON))
    assert records == [
        ("my.app.app.web", b'{"type":"web","n":0}'),
        ("my.app.app.web", b'{"type":"web","n":3}'),
        ("my.app.app.db", b'{"type":"db","n":1}'),
    ]
    assert (ctx.stats.records, ctx.stats.sent, ctx.stats.filtered, ctx.stats.failed) == (4, 3, 1, 0)


def test_filtered_records_go_to_unknown_when_asked() -> None:
    pipe = pipeline(
        file_format={"type": "line_split_processor", "config": {"json": True}},
        record_field_mapping={"type": {"keys": ["type"]}},
        routing_template="my.app.x",
        line_filter_rules=[[{"source": "record", "key": "type", "type": "doesnotmatch", "value": "web"}]],
        send_filtered_out_to_unknown=True,
    )
    records, ctx = run(pipe, NDJSON)
    assert [tag for tag, _ in records] == ["my.app.x", "my.app.x", "unknown.unknown", "unknown.unknown"]
    assert ctx.stats.filtered == 2


def test_a_bad_json_line_is_counted_and_skipped_and_the_rest_delivered() -> None:
    pipe = pipeline(file_format={"type": "line_split_processor", "config": {"json": True}}, routing_template="my.app")
    records, ctx = run(pipe, b'{"a":1}\r\n{broken\r\n\r\n{"a":2}')
    assert records == [("my.app", b'{"a":1}'), ("my.app", b'{"a":2}')]
    assert (ctx.stats.records, ctx.stats.failed) == (2, 1)


def test_invalid_utf8_is_replaced_and_counted() -> None:
    pipe = pipeline(file_format={"type": "line_split_processor"}, routing_template="my.app")
    records, ctx = run(pipe, b"ok\nbad \xff\xfe byte\n")
    assert records == [("my.app", b"ok"), ("my.app", "bad \ufffd\ufffd byte".encode())]
    assert ctx.stats.replaced_bytes == 2


def test_latin1_text_is_converted_to_utf8() -> None:
    pipe = pipeline(file_format={"type": "line_split_processor"}, routing_template="my.app", charset="latin-1")
    records, _ = run(pipe, "caf\xe9\n".encode("latin-1"))
    assert records == [("my.app", "café".encode())]


def test_static_tags_take_the_fast_path_without_parsing() -> None:
    pipe = pipeline(file_format={"type": "vpc_flow_processor"}, routing_template="cloud.aws.vpc.flow")
    data = b"version account-id action\n2 123 ACCEPT\n2 123 REJECT\n"
    records, _ = run(pipe, data)
    assert records == [("cloud.aws.vpc.flow", b"2 123 ACCEPT"), ("cloud.aws.vpc.flow", b"2 123 REJECT")]


def test_vpc_flow_fields_are_named_by_the_header_for_mapping() -> None:
    pipe = pipeline(
        file_format={"type": "vpc_flow_processor"},
        record_field_mapping={"action": {"keys": ["action"]}, "account": {"keys": ["account_id"]}},
        routing_template="cloud.aws.vpc.[record-action].[record-account]",
    )
    records, _ = run(pipe, b"version account-id action\n2 123 ACCEPT\n2 456 REJECT\n")
    assert records == [("cloud.aws.vpc.ACCEPT.123", b"2 123 ACCEPT"), ("cloud.aws.vpc.REJECT.456", b"2 456 REJECT")]


def test_control_tower_dispatches_by_key_to_the_predefined_definitions() -> None:
    config = parse_config(
        {"inputs": {"sqs_collector": {"id": 1, "base_url": QUEUE, "services": {"aws_sqs_control_tower": {}}}}}
    )
    router = ServiceRouter.for_input(config.inputs.sqs_collector)
    trail = router.pipeline_for("o-1/AWSLogs/1/CloudTrail/us-east-1/2024/01/01/1_CloudTrail_us-east-1_x.json.gz")
    vpc = router.pipeline_for("o-1/AWSLogs/1/vpcflowlogs/us-east-1/2024/01/01/1_vpcflowlogs_x.log.gz")
    cfg = router.pipeline_for("o-1/AWSLogs/1/Config/us-east-1/2024/1/1/ConfigHistory/1_Config_x.json.gz")
    front = router.pipeline_for("cf/E2ABCDEFGHIJ12.2024-01-01-10.1a2b3c4d.gz")
    assert [p.name if p else None for p in (trail, vpc, cfg, front)] == [
        "aws_sqs_control_tower/aws_sqs_cloudtrail",
        "aws_sqs_control_tower/aws_sqs_vpc",
        "aws_sqs_control_tower/aws_sqs_config",
        "aws_sqs_control_tower/aws_sqs_cloudfront",
    ]
    assert router.pipeline_for("something/else.txt") is None
    assert trail is not None and trail.skips("o-1/AWSLogs/1/CloudTrail-Digest/us-east-1/x.json.gz")


def test_the_first_service_whose_key_pattern_matches_takes_the_object() -> None:
    config = parse_config(
        {
            "inputs": {
                "sqs_collector": {
                    "id": 1,
                    "base_url": QUEUE,
                    "services": {"aws_sqs_vpc": {"key_pattern": "vpcflowlogs"}, "aws_sqs_alb": {}},
                }
            }
        }
    )
    router = ServiceRouter.for_input(config.inputs.sqs_collector)
    assert [router.pipeline_for(key).name for key in ("a/vpcflowlogs/x", "a/elb/x")] == ["aws_sqs_vpc", "aws_sqs_alb"]  # type: ignore[union-attr]


def test_utf16_text_is_re_encoded_before_it_is_split_into_lines() -> None:
    pipe = pipeline(file_format={"type": "line_split_processor"}, routing_template="my.app", charset="utf-16")
    records, ctx = run(pipe, "première ligne\r\nzweite Zeile\n".encode("utf-16"))
    assert records == [("my.app", "première ligne".encode()), ("my.app", b"zweite Zeile")]
    assert ctx.stats.replaced_bytes == 0


def test_a_bom_split_across_the_first_chunks_is_still_dropped() -> None:
    from devo_sqs.processing.records import ObjectContext
    from devo_sqs.processing.text import line_blocks

    ctx = ObjectContext(source="x")
    data = b"\xef\xbb\xbfone\ntwo\n"
    assert list(line_blocks((data[i : i + 1] for i in range(len(data))), ctx)) == [b"one", b"two"]
