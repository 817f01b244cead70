"""Configs that would silently drop (or silently keep) data are rejected, each problem with its path."""

from __future__ import annotations

from typing import Any

import pytest

from devo_sqs.config.loader import parse_config, predefined_services
from devo_sqs.config.models import Service
from devo_sqs.errors import ConfigError

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/logs"
SERVICES = "inputs.sqs_collector.services"


def collector(services: dict[str, Any], **input_keys: Any) -> dict[str, Any]:
    return {"inputs": {"sqs_collector": {"id": "12345", "base_url": QUEUE, "services": services, **input_keys}}}


def problems(document: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    return caught.value.problems


def rule(source: str, key: str, kind: str = "match", value: Any = "x") -> dict[str, Any]:
    return {"source": source, "key": key, "type": kind, "value": value}


APP = {
    "file_format": {"type": "line_split_processor", "config": {"json": True}},
    "file_field_definitions": {"env": [{"operator": "split", "on": "/", "element": 0}]},
    "record_field_mapping": {"kind": {"keys": ["kind"]}, "user": {"keys": ["user", "name"]}},
    "routing_template": "my.app.[record-kind]",
}


def test_line_filter_keys_must_be_defined_variables_of_their_source() -> None:
    rules = [
        [rule("record", "kind"), rule("record", "knd", "doesnotmatch")],
        [rule("file", "env", "in", ["dev"]), rule("file", "kind"), rule("record", "env")],
    ]
    assert problems(collector({"app": {**APP, "line_filter_rules": rules}})) == [
        f"{SERVICES}.app.line_filter_rules.0.1.key: "
        "record variable 'knd' is not defined in record_field_mapping (defined: kind, user)",
        f"{SERVICES}.app.line_filter_rules.1.1.key: "
        "file variable 'kind' is not defined in file_field_definitions (defined: env)",
        f"{SERVICES}.app.line_filter_rules.1.2.key: "
        "record variable 'env' is not defined in record_field_mapping (defined: kind, user)",
    ]


def test_a_filter_on_a_service_without_variables_says_none_are_defined() -> None:
    service = {
        "file_format": {"type": "line_split_processor"},
        "routing_template": "my.app",
        "line_filter_rules": [[rule("record", "status")], [rule("file", "log_type")]],
    }
    assert problems(collector({"plain": service})) == [
        f"{SERVICES}.plain.line_filter_rules.0.0.key: "
        "record variable 'status' is not defined in record_field_mapping (none defined)",
        f"{SERVICES}.plain.line_filter_rules.1.0.key: "
        "file variable 'log_type' is not defined in file_field_definitions (none defined)",
    ]


def test_undefined_filter_keys_are_reported_with_every_other_problem_of_the_config() -> None:
    broken = {**APP, "routing_template": "my.app.[record-knd]", "line_filter_rules": [[rule("record", "nope")]]}
    services = {"app": broken, "aws_sqs_vpc": {"charset": "klingon"}}
    assert problems(collector(services, sqs_wait_timeout=30)) == [
        "inputs.sqs_collector.sqs_wait_timeout: Input should be less than or equal to 20",
        f"{SERVICES}.app: routing_template: [record-knd] is not defined in record_field_mapping",
        f"{SERVICES}.app.line_filter_rules.0.0.key: "
        "record variable 'nope' is not defined in record_field_mapping (defined: kind, user)",
        f"{SERVICES}.aws_sqs_vpc.charset: unknown charset 'klingon'",
    ]


def test_filters_on_defined_variables_of_a_predefined_service_pass() -> None:
    rules = [[rule("record", "account", "in", ["111122223333"])], [rule("record", "region", "regex", "^cn-")]]
    config = parse_config(collector({"aws_sqs_cloudtrail": {"line_filter_rules": rules}}))
    service = config.inputs.sqs_collector.services["aws_sqs_cloudtrail"]
    assert [[r.key for r in group] for group in service.line_filter_rules] == [["account"], ["region"]]


def test_a_dispatching_service_rejects_the_pipeline_keys_it_would_ignore() -> None:
    overrides = {
        "key_pattern": "^o-",
        "routing_template": "my.app",
        "line_filter_rules": [[rule("record", "eventName")]],
    }
    reason = "does not apply to a dispatching service (each object takes the definition its dispatch names)"
    assert problems(collector({"aws_sqs_control_tower": overrides})) == [
        f"{SERVICES}.aws_sqs_control_tower.line_filter_rules: {reason}",
        f"{SERVICES}.aws_sqs_control_tower.routing_template: {reason}",
    ]
    config = parse_config(collector({"aws_sqs_control_tower": {"key_pattern": "^o-"}}))
    assert config.inputs.sqs_collector.services["aws_sqs_control_tower"].key_pattern == "^o-"


@pytest.mark.parametrize("name", sorted(set(predefined_services()) - {"custom_service"}))  # that one starts empty
def test_every_predefined_definition_validates_as_shipped(name: str) -> None:
    config = parse_config(collector({name: {}}))
    service = config.inputs.sqs_collector.services[name]
    for dispatched in service.dispatch:
        target = Service.model_validate(predefined_services()[dispatched.service])
        assert not target.dispatch, f"{name} dispatches to {dispatched.service}, itself a dispatcher"


def test_allowed_buckets_are_bucket_names_and_not_an_empty_list() -> None:
    names = ["logs", "arn:aws:s3:::audit", "s3://trail/", "my.bucket-2"]
    assert problems(collector({"aws_sqs_vpc": {}}, allowed_buckets=names)) == [
        "inputs.sqs_collector.allowed_buckets.1: "
        "'arn:aws:s3:::audit' is not an S3 bucket name (the name alone, as in s3://NAME/key)",
        "inputs.sqs_collector.allowed_buckets.2: 's3://trail/' is not an S3 bucket name (the name alone, as in s3://NAME/key)",
    ]
    assert problems(collector({"aws_sqs_vpc": {}}, allowed_buckets=[])) == [
        "inputs.sqs_collector.allowed_buckets: "
        "an empty list would refuse every notification; leave it out to accept any bucket"
    ]
    spec = parse_config(collector({"aws_sqs_vpc": {}}, allowed_buckets=["logs", "my.bucket-2"])).inputs.sqs_collector
    assert spec.allowed_buckets == ["logs", "my.bucket-2"]
    assert parse_config(collector({"aws_sqs_vpc": {}})).inputs.sqs_collector.allowed_buckets is None
