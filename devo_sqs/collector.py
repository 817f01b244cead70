"""The parent process: starts the OutputProcess, then the InputProcess; on stop, stops them in that
reverse order so everything the input handed over is delivered (or left in SQS) before the output exits."""

from __future__ import annotations

import logging
import queue
import threading
from multiprocessing.process import BaseProcess
from typing import Any

from devo_sqs import logs
from devo_sqs.channels import CONTEXT, Channels
from devo_sqs.config.models import CollectorConfig
from devo_sqs.ingest.process import DRAIN_SECONDS, run_input_process
from devo_sqs.output.process import run_output_process

log = logging.getLogger(__name__)

JOIN_SECONDS = DRAIN_SECONDS + 3.0


class Collector:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        wrap = config.globals.queue_wrap_max_size_in_messages
        self.channels = Channels.create(max_batches=max(2, config.globals.queue_max_size_in_messages // wrap))
        self._stop_requested = threading.Event()
        self.results: dict[str, Any] = {}
        self._listener = logs.start_listener(self.channels.logs)
        self.output: BaseProcess = CONTEXT.Process(
            target=run_output_process, args=(config, self.channels), name="OutputProcess", daemon=False
        )
        self.input: BaseProcess = CONTEXT.Process(
            target=run_input_process, args=(config, self.channels), name="InputProcess", daemon=False
        )

    def start(self) -> None:
        self.output.start()
        self.input.start()

    def request_stop(self) -> None:
        """Safe from a signal handler: only sets a flag."""
        self._stop_requested.set()

    def wait(self, *, poll_seconds: float = 0.5) -> int:
        """Run until a stop is requested or a child dies; then stop in order. Returns the exit code."""
        while not self._stop_requested.wait(poll_seconds):
            if not (self.input.is_alive() and self.output.is_alive()):
                log.error(
                    "A collector process exited unexpectedly (input=%s, output=%s)",
                    self.input.exitcode,
                    self.output.exitcode,
                )
                self.stop()
                return 1
        self.stop()
        return 0

    def stop(self) -> None:
        log.info("Stopping: input first, then output")
        self.channels.stop_input.set()
        _join_or_kill(self.input)
        self.channels.stop_output.set()
        _join_or_kill(self.output)
        self._collect_results()
        self._listener.stop()

    def _collect_results(self) -> None:
        while True:
            try:
                side, values = self.channels.results.get(timeout=0.2)
            except queue.Empty:
                return
            self.results[side] = values


def _join_or_kill(process: BaseProcess) -> None:
    process.join(JOIN_SECONDS)
    if process.is_alive():
        log.error("%s did not stop within %.0f s; terminating it", process.name, JOIN_SECONDS)
        process.kill()
        process.join(2)
