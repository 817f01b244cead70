"""The collector as a real process (`python -m devo_sqs run CONFIG`), stopped by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import yaml


class CollectorProcess:
    def __init__(self, config: dict[str, Any], *, directory: Path) -> None:
        self.directory = directory
        self.config_path = directory / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.stdout_path = directory / "collector.out"
        self.stderr_path = directory / "collector.err"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CollectorProcess:
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devo_sqs", "run", str(self.config_path)],
                stdout=out,
                stderr=err,
                cwd=self.directory,
                start_new_session=True,
            )
        return self

    def terminate(self, *, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds it took to exit)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        return code, time.monotonic() - started

    def child(self, comm: str, *, timeout: float = 30.0) -> psutil.Process:
        """The child named `comm` (devo-sqs-input or devo-sqs-output), once it runs."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for child in psutil.Process(self.process.pid).children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    if child.name() == comm:
                        return child
            time.sleep(0.1)
        raise AssertionError(f"no child process named {comm} within {timeout:.0f} s")

    def signal(self, signum: int) -> None:
        """Send `signum` to the collector's parent process only."""
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, *, timeout: float) -> tuple[int, float]:
        """Wait for the collector to exit; (exit code, seconds it took)."""
        assert self.process is not None
        started = time.monotonic()
        code = self.process.wait(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the collector and its children (its whole process group)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def __enter__(self) -> CollectorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
