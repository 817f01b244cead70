"""One INFO line a minute about what was collected, rather than one per object: at hundreds of small objects a
second, a line each cost a tenth of the collector's CPU and buried every other line. The per-object lines are
logged at DEBUG."""

from __future__ import annotations

import logging

from devo_sqs.ingest.counters import InputCounters
from devo_sqs.lifecycle import Worker

log = logging.getLogger(__name__)

PERIOD_SECONDS = 60.0
TOTALS = (
    "objects_processed",
    "records_sent",
    "records_filtered",
    "records_failed",
    "objects_skipped",
    "objects_failed",
)


class ProgressLog(Worker):
    def __init__(self, counters: InputCounters, *, name: str, period_seconds: float = PERIOD_SECONDS) -> None:
        super().__init__(name)
        self._counters = counters
        self.period_seconds = period_seconds

    def work(self) -> None:
        before = self._totals()
        while not self.sleep(self.period_seconds):
            now = self._totals()
            line = progress_line([b - a for a, b in zip(before, now, strict=True)], self.period_seconds)
            if line:
                log.info("%s", line)
            before = now

    def _totals(self) -> list[int]:
        return [int(getattr(self._counters, name)) for name in TOTALS]


def progress_line(changes: list[int], seconds: float) -> str | None:
    """What one period's changes of TOTALS say; None when nothing happened."""
    objects, sent, filtered, failed, skipped, objects_failed = changes
    if not any(changes):
        return None
    return (
        f"Collected {objects:,} object(s) in the last {seconds:.0f} s ({objects / seconds:.1f}/s): {sent:,} record(s) "
        f"sent, {filtered:,} filtered, {failed:,} failed; {skipped:,} object(s) skipped, {objects_failed:,} failed"
    )
