"""`devo-sqs health`: healthy while `<state dir>/heartbeat` (written by the running collector every 5 s) is fresher
than the limit and lists no problem; one clear line and a non-zero exit otherwise. What the collector lists as
problems is decided by devo_sqs/heartbeat.py (tested in tests/unit/test_heartbeat.py)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from devo_sqs.cli import main
from devo_sqs.commands.health import verdict
from devo_sqs.heartbeat import write

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/logs"


def config_file(tmp_path: Path, state_dir: Path) -> Path:
    path = tmp_path / "config.json"
    document = {
        "globals": {"persistence": {"config": {"directory_name": str(state_dir)}}},
        "inputs": {"sqs_collector": {"id": "12345", "base_url": QUEUE, "services": {"aws_sqs_vpc": {}}}},
    }
    path.write_text(json.dumps(document))
    return path


def beat(state_dir: Path, *, seconds_ago: float, problems: tuple[str, ...] = ()) -> Path:
    heartbeat = state_dir / "heartbeat"
    write(heartbeat, list(problems))
    then = time.time() - seconds_ago
    os.utime(heartbeat, (then, then))
    return heartbeat


def test_a_fresh_heartbeat_is_healthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    heartbeat = beat(state, seconds_ago=5)
    assert main(["health", str(config_file(tmp_path, state))]) == 0
    assert capsys.readouterr() == (f"Healthy: heartbeat {heartbeat} is 5 s old (limit 60 s)\n", "")


def test_a_stale_heartbeat_is_unhealthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    heartbeat = beat(state, seconds_ago=120)
    assert main(["health", str(config_file(tmp_path, state))]) == 1
    line = f"Unhealthy: heartbeat {heartbeat} is 120 s old (limit 60 s): the collector is stuck or gone\n"
    assert capsys.readouterr() == ("", line)


def test_the_limit_is_an_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    heartbeat = beat(state, seconds_ago=120)
    assert main(["health", "--max-age-seconds", "180", str(config_file(tmp_path, state))]) == 0
    assert capsys.readouterr().out == f"Healthy: heartbeat {heartbeat} is 120 s old (limit 180 s)\n"
    assert main(["health", "--max-age-seconds", "2.5", str(config_file(tmp_path, state))]) == 1
    assert "(limit 2.5 s)" in capsys.readouterr().err


def test_no_heartbeat_means_the_collector_is_not_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    assert main(["health", str(config_file(tmp_path, state))]) == 1
    line = f"Unhealthy: no heartbeat at {state / 'heartbeat'} (the collector is not running, or not started yet)\n"
    assert capsys.readouterr() == ("", line)


def test_a_fresh_heartbeat_with_problems_is_unhealthy_and_says_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    beat(state, seconds_ago=1, problems=("the output process is down", "emergency persistence cannot be written"))
    assert main(["health", str(config_file(tmp_path, state))]) == 1
    line = "Unhealthy: the output process is down; emergency persistence cannot be written\n"
    assert capsys.readouterr() == ("", line)


def test_a_file_that_is_no_heartbeat_is_unhealthy(tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    heartbeat.write_text("touched by something else")
    assert verdict(heartbeat, max_age_seconds=60, now=time.time()) == (
        False,
        f"Unhealthy: {heartbeat} is not a heartbeat written by devo-sqs",
    )


def test_a_heartbeat_from_the_future_counts_as_fresh(tmp_path: Path) -> None:
    heartbeat = beat(tmp_path, seconds_ago=-30)
    assert verdict(heartbeat, max_age_seconds=60, now=time.time()) == (
        True,
        f"Healthy: heartbeat {heartbeat} is 0 s old (limit 60 s)",
    )


def test_an_invalid_config_is_a_config_error_not_a_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"inputs": {"sqs_collector": {"id": "12345"}}}))
    assert main(["health", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "Invalid configuration (2 problem(s)):",
        "  inputs.sqs_collector.base_url: Field required",
        "  inputs.sqs_collector.services: Field required",
    ]


@pytest.mark.parametrize("limit", ["0", "-5", "soon"])
def test_the_limit_must_be_a_positive_number_of_seconds(limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["health", "--max-age-seconds", limit])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"devo-sqs health: error: argument --max-age-seconds: expected a number of seconds > 0, not {limit!r}"
    )
