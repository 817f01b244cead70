"""Run `devo-sqs parse` in-process, as an operator would on a sample, and read back what it printed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from devo_sqs.cli import main


@dataclass(frozen=True)
class ParseRun:
    code: int
    records: list[tuple[str, str]]  # (tag, message) in the order printed
    stderr: str

    @property
    def tags(self) -> Counter[str]:
        return Counter(tag for tag, _ in self.records)

    @property
    def messages(self) -> list[str]:
        return [message for _, message in self.records]


def parse(capsys: pytest.CaptureFixture[bytes], *args: str | Path) -> ParseRun:
    """`devo-sqs parse ARGS...`; stdout split into (tag, message) pairs."""
    code = main(["parse", *map(str, args)])
    out, err = capsys.readouterr()
    lines = out.decode().splitlines()
    records = [(tag, message) for tag, _, message in (line.partition("\t") for line in lines)]
    return ParseRun(code, records, err.decode())


def slow(test: Any) -> Any:
    """Opt-in measurements: marked `slow`, skipped unless DEVO_SQS_SLOW=1."""
    skip = pytest.mark.skipif(os.environ.get("DEVO_SQS_SLOW") != "1", reason="set DEVO_SQS_SLOW=1 to run")
    return pytest.mark.slow(skip(test))


# A fresh interpreter whose only child is the measured command: its RUSAGE_CHILDREN peak is that command's.
_MEASURE = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


@dataclass(frozen=True)
class Measured:
    code: int
    stdout: str  # what the command printed, without the measurement line
    peak_rss_bytes: int
    seconds: float


def measure_parse(*args: str | Path) -> Measured:
    """`devo-sqs parse ARGS...` in its own process: exit code, output, peak RSS and wall time."""
    command = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "devo_sqs", "parse", *map(str, args)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    *output, peak_kib = done.stdout.splitlines()
    return Measured(done.returncode, "\n".join(output), int(peak_kib) * 1024, seconds)


def config_file(directory: Path, services: dict[str, Any], **limits: int) -> Path:
    """A collector configuration (JSON) holding `services` on one SQS input, for `parse --config`."""
    path = directory / "config.json"
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"
    spec = {"id": "12345", "base_url": queue, "services": services, "limits": limits}
    config = {"inputs": {"sqs_collector": spec}}
    path.write_bytes(orjson.dumps(config))
    return path
