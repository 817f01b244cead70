"""A child's reports to the parent, over its report pipe: log records and snapshots of its counters.

One writer thread per child owns the pipe; the child's other threads hand it records through a bounded queue and
never wait: when the parent falls behind, log records are dropped and counted, and only the newest snapshot is kept.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from devo_sqs.lifecycle import Worker
from devo_sqs.logs import QUEUE_RECORDS, DropCounter, QueueingHandler, flatten, level_for, replace_root_handlers

log = logging.getLogger(__name__)

Snapshot = dict[str, Any]
LOG, STATUS = "log", "status"


class ReportWriter(Worker):
    def __init__(self, conn: Connection, *, capacity: int = QUEUE_RECORDS) -> None:
        super().__init__("ReportWriter")
        self._conn = conn
        self._records: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=capacity)
        self._snapshot: Snapshot | None = None
        self._snapshot_lock = threading.Lock()
        self.drops = DropCounter("the parent process")
        self.parent_gone = threading.Event()

    def forward_logs(self, *, debug: bool) -> None:
        """Route this process's log records to the parent."""
        replace_root_handlers(QueueingHandler(self.offer_log, self.drops), level_for(debug))

    def offer_log(self, record: dict[str, Any]) -> bool:
        try:
            self._records.put_nowait(record)
            return True
        except queue.Full:
            return False

    def offer_snapshot(self, snapshot: Snapshot) -> None:
        """Replace the snapshot waiting to be sent (only the newest matters)."""
        with self._snapshot_lock:
            self._snapshot = snapshot

    def work(self) -> None:
        while not self.parent_gone.is_set():
            try:
                record: dict[str, Any] | None = self._records.get(timeout=0.2)
            except queue.Empty:
                record = None
            if record is not None:
                self._send((LOG, record))
            self._send_snapshot()
            last = record is None and self.stopping
            line = self.drops.due_line(final=last)
            if line:
                self._send((LOG, flatten(_record(line))))
            if last:
                return

    def _send_snapshot(self) -> None:
        with self._snapshot_lock:
            snapshot, self._snapshot = self._snapshot, None
        if snapshot is not None:
            self._send((STATUS, snapshot))

    def _send(self, item: tuple[str, Any]) -> None:
        if self.parent_gone.is_set():
            return
        try:
            self._conn.send(item)
        except (BrokenPipeError, EOFError, OSError):
            self.parent_gone.set()


def _record(message: str) -> logging.LogRecord:
    record = logging.LogRecord(__name__, logging.WARNING, __file__, 0, message, None, None)
    record.threadName = "ReportWriter"
    return record


def read_reports(
    conn: Connection,
    *,
    on_log: Callable[[dict[str, Any]], object],
    on_snapshot: Callable[[Snapshot], None],
    limit: int = 500,
) -> bool:
    """Handle what the child sent (at most `limit` items, so one chatty child cannot starve the caller);
    False once the child's end is closed (it exited or died), also in the middle of a message."""
    for _ in range(limit):
        try:
            if not conn.poll():
                return True
            kind, payload = conn.recv()
        except (EOFError, OSError, ValueError):
            return False
        if kind == LOG:
            on_log(payload)
        elif kind == STATUS:
            on_snapshot(payload)
    return True
