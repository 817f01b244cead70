"""Collector Server mode: the job config and the collector config are read, merged and validated together;
every problem names the file (and the key as written there) it comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devo_sqs.config.models import ConsoleOutput, SyslogOutput
from devo_sqs.config.server_mode import (
    DEFAULT_COLLECTOR_CONFIG,
    DEFAULT_JOB_CONFIG,
    ServerFiles,
    load_config_source,
    load_server_config,
)
from devo_sqs.errors import ConfigError

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/logs"
JOB = {
    "global_overrides": {"debug": True, "persistence": {"config": {"directory_name": "/var/lib/devo-sqs"}}},
    "inputs": {"sqs_collector": {"id": "12345", "base_url": QUEUE, "services": {"aws_sqs_vpc": {}}}},
}
COLLECTOR = {
    "globals": {
        "id": "collector-server-7",
        "gc_period_in_sec": 120,
        "persistence": {"type": "filesystem", "config": {"directory_name": "/devo-collector/state"}},
    },
    "outputs": {"relay": {"type": "relay", "address": "10.0.0.1", "port": 514}},
}


def server_files(tmp_path: Path, job: object, collector: object) -> ServerFiles:
    files = ServerFiles(job=tmp_path / "job_config.json", collector=tmp_path / "collector_config.json")
    files.job.write_text(json.dumps(job))
    files.collector.write_text(json.dumps(collector))
    return files


def problems(files: ServerFiles) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_server_config(files)
    return caught.value.problems


def test_job_overrides_merge_over_the_collector_globals_and_outputs_come_from_the_collector_file(
    tmp_path: Path,
) -> None:
    config = load_server_config(server_files(tmp_path, JOB, COLLECTOR))
    assert config.globals.debug is True
    assert config.globals.id == "collector-server-7"
    assert config.globals.gc_period_in_sec == 120
    assert config.globals.persistence.type == "filesystem"
    assert config.globals.persistence.config.directory_name == "/var/lib/devo-sqs"
    [(name, relay)] = config.outputs.items()
    assert name == "relay" and isinstance(relay, SyslogOutput)
    assert (relay.address, relay.port, relay.uses_tls) == ("10.0.0.1", 514, False)
    spec = config.inputs.sqs_collector
    assert (spec.id, spec.base_url) == ("12345", QUEUE)
    assert spec.services["aws_sqs_vpc"].routing_template == "cloud.aws.vpc.flow"


def test_a_collector_config_without_outputs_sends_to_the_console_and_empty_sections_are_defaults(
    tmp_path: Path,
) -> None:
    config = load_server_config(server_files(tmp_path, {"inputs": JOB["inputs"]}, {"globals": None}))
    assert [(name, type(output)) for name, output in config.outputs.items()] == [("console", ConsoleOutput)]
    assert (config.globals.debug, config.globals.persistence.config.directory_name) == (False, "state")


def test_the_files_are_the_standard_ones_unless_the_environment_names_others() -> None:
    assert ServerFiles.from_environment({}) == ServerFiles(
        job=Path("/etc/devo/job/job_config.json"), collector=Path("/etc/devo/collector/collector_config.json")
    )
    assert (DEFAULT_JOB_CONFIG, DEFAULT_COLLECTOR_CONFIG) == (
        "/etc/devo/job/job_config.json",
        "/etc/devo/collector/collector_config.json",
    )
    moved = ServerFiles.from_environment(
        {"DEVO_SQS_JOB_CONFIG": "/srv/job.yaml", "DEVO_SQS_COLLECTOR_CONFIG": "/srv/collector.yaml"}
    )
    assert moved == ServerFiles(job=Path("/srv/job.yaml"), collector=Path("/srv/collector.yaml"))
    assert ServerFiles.from_environment({"DEVO_SQS_JOB_CONFIG": ""}).job == Path("/etc/devo/job/job_config.json")


def test_missing_files_are_each_reported_with_their_path_and_the_env_var_that_moves_them(tmp_path: Path) -> None:
    files = ServerFiles(job=tmp_path / "absent-job.json", collector=tmp_path / "absent-collector.json")
    hint = "Collector Server mode, as no CONFIG was given; set {} to read another file"
    assert problems(files) == [
        f"{files.job}: job config not found ({hint.format('DEVO_SQS_JOB_CONFIG')})",
        f"{files.collector}: collector config not found ({hint.format('DEVO_SQS_COLLECTOR_CONFIG')})",
    ]


def test_every_problem_names_the_file_and_the_key_as_written_there(tmp_path: Path) -> None:
    job = {
        "global_overrides": {"gc_period_in_sec": 0, "bogus": 1},
        "inputs": {"sqs_collector": {"id": "12345", "base_url": "nope", "services": {"aws_sqs_vpc": {}}}},
    }
    collector = {
        "globals": {"sender_stats_period_in_sec": 5, "gc_period_in_sec": 60},
        "outputs": {"relay": {"type": "relay", "address": "10.0.0.1", "port": 0}, "x": {"type": "syslg"}},
    }
    files = server_files(tmp_path, job, collector)
    assert problems(files) == [
        f"{files.collector}: globals.sender_stats_period_in_sec: Input should be greater than or equal to 60",
        f"{files.job}: global_overrides.gc_period_in_sec: Input should be greater than or equal to 1",
        f"{files.job}: global_overrides.bogus: unknown key",
        f"{files.collector}: outputs.relay.port: Input should be greater than or equal to 1",
        f"{files.collector}: outputs.x.type: unknown type 'syslg'; known: console, relay, syslog, devo_platform, relp",
        f"{files.job}: inputs.sqs_collector.base_url: "
        "'nope' is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)",
    ]


def test_a_job_without_inputs_is_reported_in_the_job_file(tmp_path: Path) -> None:
    files = server_files(tmp_path, {"global_overrides": {}}, COLLECTOR)
    assert problems(files) == [f"{files.job}: inputs: Field required"]


def test_sections_in_the_wrong_file_or_of_the_wrong_shape_are_reported_for_both_files(tmp_path: Path) -> None:
    job = {**JOB, "outputs": {}, "global_overrides": ["debug"]}
    collector = {**COLLECTOR, "inputs": {}}
    files = server_files(tmp_path, job, collector)
    assert problems(files) == [
        f"{files.job}: outputs: unknown key (a job config has global_overrides and inputs)",
        f"{files.job}: global_overrides: expected a mapping",
        f"{files.collector}: inputs: unknown key (a collector config has globals and outputs)",
    ]


def test_files_that_are_not_mappings_or_not_yaml_are_config_errors(tmp_path: Path) -> None:
    files = server_files(tmp_path, ["inputs"], {})
    assert problems(files) == [f"{files.job}: a job config is a mapping with global_overrides and inputs"]
    files.collector.write_text('{"globals": {')
    [job_problem, collector_problem] = problems(files)
    assert job_problem == f"{files.job}: a job config is a mapping with global_overrides and inputs"
    assert collector_problem.startswith(f"{files.collector}: not valid YAML/JSON: while parsing a flow node")


def test_a_config_argument_wins_over_collector_server_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVO_SQS_JOB_CONFIG", str(tmp_path / "absent.json"))
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**COLLECTOR, "inputs": JOB["inputs"]}))
    config, source = load_config_source(str(path))
    assert source == str(path)
    assert (config.globals.id, list(config.outputs)) == ("collector-server-7", ["relay"])


def test_without_a_config_argument_the_files_named_by_the_environment_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = server_files(tmp_path, JOB, COLLECTOR)
    monkeypatch.setenv("DEVO_SQS_JOB_CONFIG", str(files.job))
    monkeypatch.setenv("DEVO_SQS_COLLECTOR_CONFIG", str(files.collector))
    for no_config in (None, ""):  # "": the image's `devo-sqs run "$CONFIG_FILE"` with CONFIG_FILE emptied
        config, source = load_config_source(no_config)
        assert source == f"{files.job} + {files.collector} (Collector Server mode)"
        assert config.globals.persistence.config.directory_name == "/var/lib/devo-sqs"


def test_the_shipped_collector_server_examples_validate_together() -> None:
    examples = Path(__file__).resolve().parents[3] / "config"
    files = ServerFiles(
        job=examples / "collector-server-job.json", collector=examples / "collector-server-collector.json"
    )
    config = load_server_config(files)
    assert (config.globals.id, config.globals.debug) == ("collector-server-1", False)
    assert config.globals.persistence.config.directory_name == "/devo-collector/state"
    assert list(config.outputs) == ["devo_eu"]
    assert sorted(config.inputs.sqs_collector.services) == ["aws_sqs_cloudtrail", "custom_service"]
