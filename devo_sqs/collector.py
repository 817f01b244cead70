"""The parent process: a supervisor of the InputProcess and the OutputProcess, which it restarts together.

Policy (one for all): when either child dies (kill -9, OOM, a segfault in a native library), the parent notices
within a second (process sentinels), stops the survivor in order - the input releases what it holds, the output
delivers or spools what it holds - and starts a fresh pair with fresh pipes. More than `MAX_RESTARTS` restarts
within `RESTART_WINDOW_SECONDS` is a crash loop: the collector stops and exits 1, for an orchestrator to act on.

The parent shares no lock, event or queue with its children (see links.py), so no child's death can wedge it. A
stop (SIGTERM, SIGINT, SIGHUP) drains: the input first (stop receiving, settle what is in hand), then the output
(deliver or spool what is queued), within `STOP_BUDGET_SECONDS` in all. A second signal stops at once: the
output spools what it holds and the input hands back what it holds.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from devo_sqs import exit_codes
from devo_sqs.config.models import CollectorConfig
from devo_sqs.heartbeat import ChildView, heartbeat_path, problems, write
from devo_sqs.ingest.process import run_input_process
from devo_sqs.links import CONTEXT, Command, close_ends, create_links
from devo_sqs.output.process import run_output_process
from devo_sqs.reports import read_reports

log = logging.getLogger(__name__)

INPUT_STOP_SECONDS = 12.0
OUTPUT_STOP_SECONDS = 14.0
FORCED_STOP_SECONDS = 5.0
KILL_JOIN_SECONDS = 2.0
STOP_BUDGET_SECONDS = INPUT_STOP_SECONDS + OUTPUT_STOP_SECONDS + 2 * KILL_JOIN_SECONDS  # 30 s, kills included
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 300.0
HEARTBEAT_SECONDS = 5.0
COMPLAINT_SECONDS = 60.0
ALLOCATOR = {"MALLOC_TRIM_THRESHOLD_": str(128 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


def tune_allocator() -> None:
    """glibc returns freed batch memory to the OS and maps it again for every batch; keeping it costs a few MiB
    of RSS and saves a third of the output process's CPU (page faults). The children inherit this; an
    operator's own setting wins."""
    for name, value in ALLOCATOR.items():
        os.environ.setdefault(name, value)


@dataclass
class Child:
    name: str  # "input" or "output"
    process: BaseProcess
    control: Connection
    reports: Connection | None  # None once its end closed
    snapshot: dict[str, Any] = field(default_factory=dict)
    reported_at: float = field(default_factory=time.monotonic)

    @property
    def alive(self) -> bool:
        return self.process.exitcode is None

    def tell(self, command: str) -> None:
        """Send a command; a child that is gone cannot hear it, and that is fine."""
        with contextlib.suppress(OSError, ValueError):
            self.control.send(command)


class Collector:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self._stop_requests = 0
        self._restarts: collections.deque[float] = collections.deque()
        self._input: Child | None = None
        self._output: Child | None = None
        self._heartbeat_path = heartbeat_path(config.globals)
        self._beat_at = 0.0
        self._complained_at = -COMPLAINT_SECONDS
        self._wakeup_read, self._wakeup_write = os.pipe()
        os.set_blocking(self._wakeup_write, False)
        self.results: dict[str, Any] = {"collector": {"restarts": 0}}

    # -- signals --------------------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGTERM, SIGINT and SIGHUP drain; a second one stops at once. The handlers only count."""
        signal.set_wakeup_fd(self._wakeup_write)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda *_: self.request_stop())

    def request_stop(self) -> None:
        self._stop_requests += 1

    # -- the supervision loop -------------------------------------------------------------------------------

    def run(self) -> int:
        """Start the pair and supervise it until a stop; the exit code."""
        tune_allocator()
        try:
            self._start_pair()
            return self._supervise()
        except Exception:
            log.exception("The collector's supervisor failed; stopping")
            self._stop_pair()
            return exit_codes.FAILURE

    def _supervise(self) -> int:
        while True:
            self._watch(timeout=0.5)
            if self._stop_requests:
                forced = self._stop_pair()
                return exit_codes.FORCED if forced else exit_codes.OK
            dead = [child for child in self._children() if not child.alive]
            if dead:
                for child in dead:
                    log.error("The %s process exited unexpectedly (exit code %s)", child.name, child.process.exitcode)
                self._stop_pair()
                if not self._may_restart():
                    log.error("%d restarts within %.0f s: giving up", MAX_RESTARTS, RESTART_WINDOW_SECONDS)
                    return exit_codes.FAILURE
                self._start_pair()
            self._beat()

    def _may_restart(self) -> bool:
        now = time.monotonic()
        while self._restarts and self._restarts[0] < now - RESTART_WINDOW_SECONDS:
            self._restarts.popleft()
        if len(self._restarts) >= MAX_RESTARTS:
            return False
        self._restarts.append(now)
        self.results["collector"]["restarts"] += 1
        log.warning("Restarting both processes (restart %d within %.0f s)", len(self._restarts), RESTART_WINDOW_SECONDS)
        return True

    def _children(self) -> list[Child]:
        return [child for child in (self._input, self._output) if child is not None]

    def _watch(self, *, timeout: float) -> None:
        """Wait for a report, a child's death or a signal (at most `timeout`); handle the reports."""
        waitables: list[Any] = [self._wakeup_read]
        for child in self._children():
            waitables.append(child.process.sentinel)
            if child.reports is not None:
                waitables.append(child.reports)
        ready = wait(waitables, timeout)
        if self._wakeup_read in ready:
            os.read(self._wakeup_read, 512)
        for child in self._children():
            self._pump(child)

    def _pump(self, child: Child) -> None:
        if child.reports is None:
            return
        if not read_reports(child.reports, on_log=self._log_record, on_snapshot=lambda s: self._keep(child, s)):
            child.reports.close()
            child.reports = None

    def _keep(self, child: Child, snapshot: dict[str, Any]) -> None:
        child.snapshot, child.reported_at = snapshot, time.monotonic()
        self.results[child.name] = snapshot

    def _log_record(self, record: dict[str, Any]) -> None:
        """A child's record goes where the parent's own go (levels were applied in the child)."""
        logging.getLogger(record.get("name", "devo_sqs")).handle(logging.makeLogRecord(record))

    # -- starting and stopping the pair ---------------------------------------------------------------------

    def _start_pair(self) -> None:
        parent, input_ends, output_ends = create_links()
        output = CONTEXT.Process(target=run_output_process, args=(self.config, output_ends), name="OutputProcess")
        input_ = CONTEXT.Process(target=run_input_process, args=(self.config, input_ends), name="InputProcess")
        output.start()
        input_.start()
        close_ends(input_ends, output_ends)
        self._output = Child("output", output, parent.output_control, parent.output_reports)
        self._input = Child("input", input_, parent.input_control, parent.input_reports)
        log.info("Started the output process (pid %s) and the input process (pid %s)", output.pid, input_.pid)

    def _stop_pair(self) -> bool:
        """Stop the children in order: the input, then the output; True when a second signal hurried it."""
        requests = self._stop_requests
        for child in self._children():
            child.tell(Command.DRAIN)
        if self._input is not None:
            log.info("Stopping the input process")
            self._await_exit(self._input, INPUT_STOP_SECONDS, requests)
        if self._output is not None:
            log.info("Stopping the output process")
            self._output.tell(Command.FINISH)
            self._await_exit(self._output, OUTPUT_STOP_SECONDS, requests)
        forced = self._stop_requests > max(requests, 1)
        for child in self._children():
            self._pump(child)
            child.control.close()
            if child.reports is not None:
                child.reports.close()
        self._input = self._output = None
        return forced

    def _await_exit(self, child: Child, seconds: float, requests: int) -> None:
        """Wait for `child` to exit, reading its reports; hurry it on a further signal; kill it at the deadline."""
        deadline = time.monotonic() + seconds
        hurried = False
        while child.alive and time.monotonic() < deadline:
            self._watch(timeout=0.2)
            if self._stop_requests > max(requests, 1) and not hurried:
                log.warning("Second stop request: stopping at once")
                for other in self._children():
                    other.tell(Command.NOW)
                deadline, hurried = min(deadline, time.monotonic() + FORCED_STOP_SECONDS), True
        if child.alive:
            log.error("The %s process did not stop within %.0f s; killing it", child.name, seconds)
            child.process.kill()
        child.process.join(KILL_JOIN_SECONDS)
        self._pump(child)

    # -- health and metrics ---------------------------------------------------------------------------------

    def _beat(self) -> None:
        if time.monotonic() - self._beat_at < HEARTBEAT_SECONDS:
            return
        self._beat_at = time.monotonic()
        views = [ChildView(c.name, c.alive, c.snapshot, time.monotonic() - c.reported_at) for c in self._children()]
        found = problems(views, stall_seconds=self.config.inputs.sqs_collector.stall_limit)
        self.results["collector"]["problems"] = found
        try:
            write(self._heartbeat_path, found)
        except OSError as exc:
            if time.monotonic() - self._complained_at >= COMPLAINT_SECONDS:
                self._complained_at = time.monotonic()
                log.error("Cannot write the heartbeat %s: %s; `devo-sqs health` will fail", self._heartbeat_path, exc)
