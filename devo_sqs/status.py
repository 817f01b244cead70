"""Each child reports a snapshot of its counters to the parent every few seconds and once at exit; the parent keeps
the latest per side for the heartbeat, the final statistics and the Prometheus endpoint."""

from __future__ import annotations

from collections.abc import Callable

from devo_sqs.lifecycle import Worker
from devo_sqs.reports import ReportWriter, Snapshot

REPORT_SECONDS = 2.0


class StatusReporter(Worker):
    def __init__(self, snapshot: Callable[[], Snapshot], writer: ReportWriter) -> None:
        super().__init__("StatusReporter")
        self._snapshot = snapshot
        self._writer = writer

    def work(self) -> None:
        self.report()
        while not self.sleep(REPORT_SECONDS):
            self.report()

    def report(self) -> None:
        """Hand the current snapshot to the report writer; never waits."""
        self._writer.offer_snapshot(self._snapshot())
