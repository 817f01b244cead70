"""`devo-sqs backfill` refuses bad arguments and unusable inputs at once, before touching AWS, saying why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devo_sqs.cli import build_parser, main

QUEUE = "https://sqs.eu-west-1.amazonaws.com/111122223333/devo-logs"


def config_file(tmp_path: Path, **input_overrides: Any) -> str:
    path = tmp_path / "config.json"
    spec = {"id": "12345", "base_url": QUEUE, "services": {"aws_sqs_cloudtrail": {}}, **input_overrides}
    path.write_text(json.dumps({"inputs": {"sqs_collector": spec}}))
    return str(path)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--since", "yesterday"],
            "argument --since: expected an ISO 8601 date or date-time (2024-01-16, 2024-01-16T12:30, "
            "2024-01-16T12:30:00Z or 2024-01-16T12:30+02:00), not 'yesterday'",
        ),
        (["--rate", "0"], "argument --rate: expected a number of objects per second > 0, not '0'"),
        (["--rate", "fast"], "argument --rate: expected a number of objects per second > 0, not 'fast'"),
        (
            ["--key-regex", "CloudTrail/("],
            "argument --key-regex: not a regular expression (missing ), unterminated subpattern at position 11): "
            "'CloudTrail/('",
        ),
    ],
)
def test_bad_arguments_are_usage_errors(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", config_file(tmp_path), "--bucket", "logs", *arguments])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"devo-sqs backfill: error: {message}"


@pytest.mark.parametrize(
    ("arguments", "overrides", "problems"),
    [
        (
            ["--since", "2024-01-04", "--until", "2024-01-02T12:00"],
            {},
            ["--since/--until: --since (2024-01-04T00:00:00+00:00) must be before --until (2024-01-02T12:00:00+00:00)"],
        ),
        (
            ["--queue-url", "devo-logs"],
            {"direct_mode": True},
            [
                "inputs.sqs_collector.direct_mode: a backfill announces S3 objects; this input reads none",
                "--queue-url: 'devo-logs' is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)",
            ],
        ),
    ],
)
def test_unusable_requests_are_refused_with_every_problem(
    arguments: list[str],
    overrides: dict[str, Any],
    problems: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backfill", config_file(tmp_path, **overrides), "--bucket", "logs", *arguments]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"Invalid configuration ({len(problems)} problem(s)):",
        *[f"  {problem}" for problem in problems],
    ]


def test_prefixes_may_be_given_one_by_one_or_together() -> None:
    args = build_parser().parse_args(["backfill", "c.yaml", "--bucket", "b", "--prefix", "a/", "b/", "--prefix", "c/"])
    assert (args.config, args.bucket, args.prefixes, args.dry_run) == ("c.yaml", "b", ["a/", "b/", "c/"], False)
