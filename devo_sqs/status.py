"""Each child process reports a snapshot of its counters to the parent every few seconds and once at exit;
the parent keeps the latest per side for the final statistics and the Prometheus endpoint."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any

from devo_sqs.lifecycle import Worker

REPORT_SECONDS = 2.0

Snapshot = dict[str, Any]


class StatusReporter(Worker):
    def __init__(self, side: str, snapshot: Callable[[], Snapshot], channel: Queue[Any]) -> None:
        super().__init__(f"StatusReporter({side})")
        self.side = side
        self._snapshot = snapshot
        self._channel = channel

    def work(self) -> None:
        while not self.sleep(REPORT_SECONDS):
            self.report()

    def report(self) -> None:
        """Send the current snapshot; never waits (a full channel drops it)."""
        with contextlib.suppress(queue.Full):
            self._channel.put_nowait((self.side, self._snapshot()))


def latest(channel: Queue[Any], into: dict[str, Snapshot]) -> None:
    """Drain the channel, keeping the newest snapshot of each side."""
    while True:
        try:
            side, snapshot = channel.get_nowait()
        except queue.Empty:
            return
        into[side] = snapshot
