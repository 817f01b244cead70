"""The InputProcess's running totals, shared by its threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

from devo_sqs.processing.records import ObjectStats


@dataclass
class InputCounters:
    messages_received: int = 0
    messages_deleted: int = 0
    messages_failed: int = 0
    notifications_ignored: int = 0
    objects_processed: int = 0
    objects_skipped: int = 0
    objects_failed: int = 0
    records_sent: int = 0
    records_filtered: int = 0
    records_failed: int = 0
    bytes_read: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def add_object(self, stats: ObjectStats) -> None:
        self.add(
            objects_processed=1,
            records_sent=stats.sent,
            records_filtered=stats.filtered,
            records_failed=stats.failed,
            bytes_read=stats.bytes_read,
        )

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
