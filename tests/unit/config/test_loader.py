"""Config validation: strict, every problem reported at once with its path, predefined services merged."""

from __future__ import annotations

import pytest

from devo_sqs.config.loader import load_config, merge_service, parse_config
from devo_sqs.config.models import DevoOutput, RelpOutput, SyslogOutput
from devo_sqs.errors import ConfigError

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/logs"


def collector(services: dict[str, object], **input_keys: object) -> dict[str, object]:
    return {"inputs": {"sqs_collector": {"id": "12345", "base_url": QUEUE, "services": services, **input_keys}}}


def problems(document: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    return caught.value.problems


def test_a_predefined_service_named_with_empty_overrides_takes_its_definition() -> None:
    config = parse_config(collector({"aws_sqs_vpc": {}, "aws_sqs_cloudtrail": None}))
    services = config.inputs.sqs_collector.services
    assert services["aws_sqs_vpc"].routing_template == "cloud.aws.vpc.flow"
    assert services["aws_sqs_vpc"].file_format is not None
    assert services["aws_sqs_vpc"].file_format.type == "vpc_flow_processor"
    assert services["aws_sqs_cloudtrail"].file_format.config.key == "Records"  # type: ignore[union-attr]
    assert services["aws_sqs_cloudtrail"].filename_filter_rules[0][0].pattern == "CloudTrail-Digest"


def test_overrides_merge_into_nested_mappings_and_replace_lists() -> None:
    config = parse_config(
        collector(
            {
                "aws_sqs_cloudtrail": {
                    "file_format": {"config": {"key": "Events"}},
                    "filename_filter_rules": [[{"type": "regex", "pattern": "Digest|Insight"}]],
                }
            }
        )
    )
    service = config.inputs.sqs_collector.services["aws_sqs_cloudtrail"]
    assert service.file_format is not None
    assert service.file_format.type == "single_json_object_processor"
    assert service.file_format.config.key == "Events"  # type: ignore[attr-defined]
    assert [[rule.pattern for rule in group] for group in service.filename_filter_rules] == [["Digest|Insight"]]
    assert service.record_field_mapping["account"].keys == ["recipientAccountId"]


def test_a_new_processor_type_replaces_the_predefined_file_format_whole() -> None:
    merged = merge_service(
        {"file_format": {"type": "vpc_flow_processor", "config": {"field_names": ["a"]}}},
        {"file_format": {"type": "line_split_processor"}},
    )
    assert merged == {"file_format": {"type": "line_split_processor"}}


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    document = {
        "globals": {"debug_status": True, "bogus": 1},
        "outputs": {"devo": {"type": "devo_platform"}, "relay": {"type": "syslg", "address": "x", "port": 1}},
        "inputs": {
            "sqs_collector": {
                "id": "not valid!",
                "base_url": "nope",
                "sqs_wait_timeout": 30,
                "sqs_max_messages": 11,
                "services": {
                    "aws_sqs_vpc": {"file_format": {"type": "vpc_flow"}},
                    "mine": {
                        "routing_template": "my.app",
                        "file_format": {"type": "text_file_processor", "config": {"skip_lines": -1, "sep": ","}},
                        "file_field_definitions": {"kind": [{"operator": "split", "on": "/", "element": "x"}]},
                    },
                },
            }
        },
    }
    assert problems(document) == [
        "globals.bogus: unknown key",
        "outputs.devo: devo_platform needs chain, cert and key for mutual TLS; missing: chain, cert, key",
        "outputs.relay.type: unknown type 'syslg'; known: console, relay, syslog, devo_platform, relp",
        "inputs.sqs_collector.id: String should match pattern '^[A-Za-z0-9_-]{1,64}$'",
        "inputs.sqs_collector.base_url: 'nope' is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)",
        "inputs.sqs_collector.sqs_wait_timeout: Input should be less than or equal to 20",
        "inputs.sqs_collector.sqs_max_messages: Input should be less than or equal to 10",
        "inputs.sqs_collector.services.aws_sqs_vpc.file_format.type: unknown processor 'vpc_flow'; known: "
        "line_split_processor, separated_json_processor, unseparated_json_processor, single_json_object_processor, "
        "json_array_processor, json_line_arrays_processor, text_file_processor, vpc_flow_processor, "
        "aws_access_logs_processor, cloudwatch_logs_processor, windows_security_processor, jamf_processor, "
        "dict_processor",
        "inputs.sqs_collector.services.mine.file_format.config.skip_lines: Input should be greater than or equal to 0",
        "inputs.sqs_collector.services.mine.file_format.config.sep: unknown key",
        "inputs.sqs_collector.services.mine.file_field_definitions.kind.0.element: "
        "Input should be a valid integer, unable to parse string as an integer",
    ]


LINES = {"file_format": {"type": "line_split_processor"}}


@pytest.mark.parametrize(
    ("service", "problem"),
    [
        (
            {"routing_template": "my.app.[record-kind]", **LINES},
            ": routing_template: [record-kind] is not defined in record_field_mapping",
        ),
        (
            {"routing_template": "my.[file-x].app", **LINES},
            ": routing_template: [file-x] is not defined in file_field_definitions",
        ),
        (
            {"routing_template": "single", **LINES},
            ": routing_template 'single' must give at least 2 non-empty dot-separated levels",
        ),
        (
            {"routing_template": "my.app.[sqs-queue]", **LINES},
            ": routing_template: unknown placeholder [sqs-queue]; sqs- has region, account",
        ),
        (
            {"routing_template": "my app.x", **LINES},
            ": routing_template 'my app.x': only [A-Za-z0-9_-], dots and placeholders are allowed",
        ),
        (LINES, ": routing_template is required"),
        ({"routing_template": "my.app"}, ": file_format is required (unless encoding is parquet)"),
        (
            {"routing_template": "my.app", "key_pattern": "a(", **LINES},
            ".key_pattern: invalid regex 'a(': missing ), unterminated subpattern at position 1",
        ),
        ({"routing_template": "my.app", "charset": "klingon", **LINES}, ".charset: unknown charset 'klingon'"),
    ],
)
def test_a_service_that_cannot_produce_a_valid_tag_or_stream_is_rejected(service: object, problem: str) -> None:
    assert problems(collector({"custom": service})) == [f"inputs.sqs_collector.services.custom{problem}"]


def test_line_filter_rule_values_must_fit_their_type() -> None:
    base = {"routing_template": "my.app", "file_format": {"type": "line_split_processor"}}
    reported = problems(
        collector(
            {
                "custom": {
                    **base,
                    "line_filter_rules": [
                        [{"source": "record", "key": "a", "type": "in", "value": "x"}],
                        [{"source": "file", "key": "b", "type": "match", "value": ["x"]}],
                        [{"source": "record", "key": "c", "type": "regex", "value": "("}],
                    ],
                }
            }
        )
    )
    path = "inputs.sqs_collector.services.custom.line_filter_rules"
    assert reported == [
        f"{path}.0.0: type 'in' needs a list value",
        f"{path}.1.0: type 'match' needs a single value, not a list",
        f"{path}.2.0: invalid regex '(': missing ), unterminated subpattern at position 0",
    ]


def test_outputs_parse_into_typed_models_and_tls_follows_the_certificates() -> None:
    config = parse_config(
        {
            "outputs": {
                "relay": {"type": "relay", "address": "10.0.0.1", "port": 514},
                "tls_relay": {"type": "syslog", "address": "10.0.0.2", "port": 6514, "chain": "ca.pem"},
                "devo": {"type": "devo_platform", "chain": "c.pem", "cert": "x.crt", "key": "x.key"},
            },
            **collector({"aws_sqs_vpc": {}}),
        }
    )
    relay, tls_relay, devo = config.outputs.values()
    assert isinstance(relay, SyslogOutput) and not relay.uses_tls
    assert isinstance(tls_relay, SyslogOutput) and tls_relay.uses_tls
    assert isinstance(devo, DevoOutput) and (devo.address, devo.port) == ("collector-eu.devo.io", 443)


def test_a_relp_output_takes_its_window_and_tls_like_a_relay_and_rejects_syslog_only_keys() -> None:
    config = parse_config(
        {
            "outputs": {
                "relp": {"type": "relp", "address": "10.0.0.1", "port": 2514},
                "relp_tls": {
                    "type": "relp",
                    "address": "relay.example",
                    "port": 6514,
                    "chain": "ca.pem",
                    "cert": "c.crt",
                    "key": "c.key",
                    "window_size_in_frames": 4096,
                    "concurrent_connections": 2,
                },
            },
            **collector({"aws_sqs_vpc": {}}),
        }
    )
    plain, tls = config.outputs.values()
    assert isinstance(plain, RelpOutput) and not plain.uses_tls and plain.window_size_in_frames == 1024
    assert (
        isinstance(tls, RelpOutput)
        and tls.uses_tls
        and (tls.window_size_in_frames, tls.concurrent_connections)
        == (
            4096,
            2,
        )
    )
    assert problems(
        {
            "outputs": {
                "a": {"type": "relp", "address": "x"},
                "b": {"type": "relp", "address": "x", "port": 1, "multiline": True, "window_size_in_frames": 0},
            },
            **collector({"aws_sqs_vpc": {}}),
        }
    ) == [
        "outputs.a.port: Field required",
        "outputs.b.window_size_in_frames: Input should be greater than or equal to 1",
        "outputs.b.multiline: unknown key",
    ]


def test_collector_server_job_layout_merges_global_overrides_and_defaults_to_console() -> None:
    config = parse_config(
        {"global_overrides": {"debug": True, "gc_period_in_sec": 60}, **collector({"aws_sqs_vpc": {}})}
    )
    assert config.globals.debug is True
    assert config.globals.gc_period_in_sec == 60
    assert [output.type for output in config.outputs.values()] == ["console"]


def test_queue_region_and_account_come_from_the_queue_url() -> None:
    spec = parse_config(collector({"aws_sqs_vpc": {}})).inputs.sqs_collector
    assert (spec.queue_region, spec.queue_account) == ("eu-west-1", "123456789012")
    local = parse_config(
        collector({"aws_sqs_vpc": {}}, base_url="http://127.0.0.1:5000/123456789012/q", region="us-west-2")
    ).inputs.sqs_collector
    assert (local.queue_region, local.queue_account) == ("us-west-2", "123456789012")


def test_secrets_never_appear_in_the_validated_config() -> None:
    config = parse_config(
        collector(
            {"aws_sqs_vpc": {}},
            credentials={
                "aws_access_key_id": "AKIAEXAMPLE",
                "aws_secret_access_key": "very-secret",
                "aws_external_id": "ext-9",
            },
        )
    )
    shown = repr(config) + str(config.model_dump(mode="json"))
    assert "very-secret" not in shown and "ext-9" not in shown


def test_unreadable_and_malformed_files_are_config_errors(tmp_path: object) -> None:
    from pathlib import Path

    directory = Path(str(tmp_path))
    with pytest.raises(ConfigError) as missing:
        load_config(directory / "absent.yaml")
    assert missing.value.problems[0].endswith("absent.yaml: cannot read: No such file or directory")
    broken = directory / "broken.yaml"
    broken.write_text("inputs: [unclosed\n")
    with pytest.raises(ConfigError) as malformed:
        load_config(broken)
    assert "not valid YAML/JSON" in malformed.value.problems[0]
