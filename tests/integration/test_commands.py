"""The command line: `validate`, `run` with a bad config, `parse` on local files, `demo`."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import yaml

BAD_CONFIG = {
    "globals": {"gc_period_in_sec": 0},
    "outputs": {"devo": {"type": "devo_platform", "cert": "x.crt"}},
    "inputs": {
        "sqs_collector": {
            "id": "12345",
            "base_url": "http://127.0.0.1:{port}/123456789012/q",
            "endpoint_url": "http://127.0.0.1:{port}",
            "sqs_visibility_timeout": 5,
            "services": {
                "aws_sqs_vpc": {
                    "routing_template": "one",
                    "line_filter_rules": [[{"source": "record", "key": "action", "type": "match", "value": "REJECT"}]],
                },
                "mine": {"file_format": {"type": "nope"}},
            },
        }
    },
}
BAD_CONFIG_PROBLEMS = [
    "globals.gc_period_in_sec: Input should be greater than or equal to 1",
    "outputs.devo: devo_platform needs chain, cert and key for mutual TLS; missing: chain, key",
    "outputs.devo.cert: file not found: x.crt",
    "inputs.sqs_collector.sqs_visibility_timeout: Input should be greater than or equal to 10",
    "inputs.sqs_collector.services.aws_sqs_vpc: "
    "routing_template 'one' must give at least 2 non-empty dot-separated levels",
    "inputs.sqs_collector.services.aws_sqs_vpc.line_filter_rules.0.0.key: "
    "record variable 'action' is not defined in record_field_mapping (none defined)",
    "inputs.sqs_collector.services.mine.file_format.type: unknown processor 'nope'; known: line_split_processor, "
    "separated_json_processor, unseparated_json_processor, single_json_object_processor, json_array_processor, "
    "json_line_arrays_processor, text_file_processor, vpc_flow_processor, aws_access_logs_processor, "
    "cloudwatch_logs_processor, windows_security_processor, jamf_processor, dict_processor",
]


def devo_sqs(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devo_sqs", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def test_a_bad_config_is_rejected_with_every_problem_before_any_aws_call(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as tripwire:
        tripwire.settimeout(0.5)
        port = tripwire.getsockname()[1]
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(BAD_CONFIG).replace("{port}", str(port)))
        for command in ("validate", "run"):
            result = devo_sqs(command, str(path))
            assert result.returncode == 2
            assert result.stdout == ""
            assert result.stderr.splitlines() == [
                f"Invalid configuration ({len(BAD_CONFIG_PROBLEMS)} problem(s)):",
                *(f"  {problem}" for problem in BAD_CONFIG_PROBLEMS),
            ]
        try:
            tripwire.accept()
            raise AssertionError("the collector connected to the AWS endpoint")
        except TimeoutError:
            pass


def test_validate_prints_the_resolved_services(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    config = {
        "inputs": {
            "sqs_collector": {
                "id": 1,
                "base_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "credentials": {"aws_access_key_id": "AKIA1", "aws_secret_access_key": "s3cr3t"},
                "services": {"aws_sqs_vpc": {"key_pattern": "vpcflowlogs"}},
            }
        }
    }
    path.write_text(json.dumps(config))
    result = devo_sqs("validate", str(path))
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition("\n")
    assert head == f"Configuration {path} is valid. Resolved (predefined definitions merged, defaults filled in):"
    resolved = yaml.safe_load(body)
    vpc = resolved["inputs"]["sqs_collector"]["services"]["aws_sqs_vpc"]
    assert vpc["key_pattern"] == "vpcflowlogs"
    assert vpc["routing_template"] == "cloud.aws.vpc.flow"
    assert vpc["file_format"] == {"type": "vpc_flow_processor", "config": {"field_names": None}}
    assert resolved["outputs"] == {"console": {"type": "console"}}
    assert "s3cr3t" not in result.stdout


def test_parse_prints_tag_and_message_per_record_and_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "flow.log"
    path.write_text("version account-id action\n2 111 ACCEPT\n2 222 REJECT\n")
    result = devo_sqs("parse", "--service", "aws_sqs_vpc", str(path))
    assert (result.returncode, result.stdout) == (
        0,
        "cloud.aws.vpc.flow\t2 111 ACCEPT\ncloud.aws.vpc.flow\t2 222 REJECT\n",
    )
    stats = r"records=2 sent=2 filtered=0 failed=0 replaced_bytes=0 bytes=52 elapsed=\d+\.\d{3}s"
    assert re.fullmatch(f"{re.escape(str(path))}: aws_sqs_vpc: {stats}", result.stderr.strip())
    summary = devo_sqs("parse", "--service", "aws_sqs_vpc", "--summary", str(path), str(path))
    assert json.loads(summary.stdout) == {"cloud.aws.vpc.flow": 4}


def test_parse_fails_one_file_with_one_clear_line_when_it_cannot_be_decoded(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    result = devo_sqs("parse", "--service", "aws_sqs_cloudtrail", str(broken))
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{broken}: ERROR cannot decode gzip content:")
    assert "Traceback" not in result.stderr


def test_parse_with_an_unknown_service_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("x\n")
    result = devo_sqs("parse", "--service", "aws_sqs_nope", str(path))
    assert result.returncode == 2
    assert "aws_sqs_nope" in result.stderr and "Traceback" not in result.stderr


def test_demo_runs_the_whole_collector_and_prints_per_tag_counts(tmp_path: Path) -> None:
    result = devo_sqs("demo", cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = result.stdout[result.stdout.index("Records delivered per tag:") :]
    counts = dict((tag, int(count)) for count, tag in re.findall(r"^\s+(\d+)\s+(\S+)$", summary, re.MULTILINE))
    assert counts == {
        "cloud.aws.cloudtrail.111122223333.eu-west-1": 4,
        "cloud.aws.cloudtrail.111122223333.us-east-1": 4,
        "cloud.aws.cloudtrail.444455556666.eu-west-1": 2,
        "cloud.aws.cloudtrail.444455556666.us-east-1": 2,
        "cloud.aws.vpc.flow": 20,
        "web.aws.alb.access": 10,
        "total": 42,
    }
    frames = [line for line in result.stdout.splitlines() if line.startswith("<14>")]
    internal = [line for line in frames if " devo.collectors.out.devo-sqs-demo.sqs_collector." in line]
    assert len(frames) - len(internal) == 42
    assert all('"collector":"devo-sqs-demo"' in line for line in internal)
    assert "Standard - Total number of messages sent: 42" in result.stderr
    assert "Traceback" not in result.stderr
