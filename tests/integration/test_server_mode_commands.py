"""The commands in Collector Server mode: with no CONFIG, `validate`, `run` and `health` read the job config
and the collector config named by DEVO_SQS_JOB_CONFIG / DEVO_SQS_COLLECTOR_CONFIG."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from devo_sqs.heartbeat import write

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/devo-logs"


def devo_sqs(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devo_sqs", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def server_files(tmp_path: Path, *, gc_period: int = 60) -> dict[str, str]:
    job, collector = tmp_path / "job" / "job_config.json", tmp_path / "collector" / "collector_config.json"
    job.parent.mkdir()
    collector.parent.mkdir()
    state = tmp_path / "state"
    job.write_text(
        json.dumps(
            {
                "global_overrides": {
                    "gc_period_in_sec": gc_period,
                    "persistence": {"config": {"directory_name": str(state)}},
                },
                "inputs": {"sqs_collector": {"id": "12345", "base_url": QUEUE, "services": {"aws_sqs_cloudtrail": {}}}},
            }
        )
    )
    collector.write_text(
        json.dumps(
            {
                "globals": {"id": "collector-server-7", "gc_period_in_sec": 600},
                "outputs": {"relay": {"type": "relay", "address": "10.0.0.1", "port": 514}},
            }
        )
    )
    return {"DEVO_SQS_JOB_CONFIG": str(job), "DEVO_SQS_COLLECTOR_CONFIG": str(collector)}


def test_validate_without_config_reads_both_server_files_and_prints_the_merged_result(tmp_path: Path) -> None:
    env = server_files(tmp_path)
    result = devo_sqs("validate", env=env)
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition("\n")
    source = f"{env['DEVO_SQS_JOB_CONFIG']} + {env['DEVO_SQS_COLLECTOR_CONFIG']} (Collector Server mode)"
    assert head == f"Configuration {source} is valid. Resolved (predefined definitions merged, defaults filled in):"
    resolved = yaml.safe_load(body)
    assert resolved["globals"]["id"] == "collector-server-7"
    assert resolved["globals"]["gc_period_in_sec"] == 60
    assert resolved["globals"]["persistence"] == {
        "type": "filesystem",
        "config": {"directory_name": str(tmp_path / "state")},
    }
    assert resolved["outputs"]["relay"]["address"] == "10.0.0.1"
    assert resolved["outputs"]["relay"]["port"] == 514
    trail = resolved["inputs"]["sqs_collector"]["services"]["aws_sqs_cloudtrail"]
    assert trail["file_format"]["type"] == "single_json_object_processor"
    assert resolved["inputs"]["sqs_collector"]["base_url"] == QUEUE


def test_errors_name_the_server_file_they_come_from(tmp_path: Path) -> None:
    env = server_files(tmp_path, gc_period=0)
    for command in ("validate", "run"):
        result = devo_sqs(command, env=env)
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr.splitlines() == [
            "Invalid configuration (1 problem(s)):",
            f"  {env['DEVO_SQS_JOB_CONFIG']}: global_overrides.gc_period_in_sec: "
            "Input should be greater than or equal to 1",
        ]


def test_run_without_config_and_without_server_files_names_the_paths_and_env_vars(tmp_path: Path) -> None:
    env = {"DEVO_SQS_JOB_CONFIG": str(tmp_path / "nope.json"), "DEVO_SQS_COLLECTOR_CONFIG": ""}
    result = devo_sqs("run", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    hint = "Collector Server mode, as no CONFIG was given; set {} to read another file"
    assert result.stderr.splitlines() == [
        "Invalid configuration (2 problem(s)):",
        f"  {tmp_path / 'nope.json'}: job config not found ({hint.format('DEVO_SQS_JOB_CONFIG')})",
        "  /etc/devo/collector/collector_config.json: collector config not found "
        f"({hint.format('DEVO_SQS_COLLECTOR_CONFIG')})",
    ]


def test_health_without_config_checks_the_heartbeat_in_the_merged_state_directory(tmp_path: Path) -> None:
    env = server_files(tmp_path)
    heartbeat = tmp_path / "state" / "heartbeat"
    missing = devo_sqs("health", env=env)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (
        f"Unhealthy: no heartbeat at {heartbeat} (the collector is not running, or not started yet)\n"
    )
    write(heartbeat, [])
    ten_seconds_ago = time.time() - 10
    os.utime(heartbeat, (ten_seconds_ago, ten_seconds_ago))
    fresh = devo_sqs("health", "--max-age-seconds", "30", env=env)
    assert (fresh.returncode, fresh.stderr) == (0, "")
    # The command's own start-up (a second or more on a busy machine) adds to the 10 s.
    age = re.fullmatch(rf"Healthy: heartbeat {re.escape(str(heartbeat))} is (\d+) s old \(limit 30 s\)\n", fresh.stdout)
    assert age is not None and int(age.group(1)) >= 10, fresh.stdout
