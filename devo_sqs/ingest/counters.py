"""The InputProcess's running totals, shared by its threads, per input and per service."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field, fields
from typing import Any

from devo_sqs.processing.records import ObjectStats

SERVICE_FIELDS = ("objects", "records_sent", "records_filtered", "records_failed", "bytes_read", "seconds")


@dataclass
class InputCounters:
    messages_received: int = 0
    messages_deleted: int = 0
    messages_failed: int = 0
    messages_failed_permanently: int = 0  # ... of them for good: towards the dead-letter queue, or dropped
    messages_released: int = 0  # made visible again: failed (with backoff) or handed back at a stop
    messages_dropped: int = 0  # poison deleted after max_receive_count receives (no dead-letter queue)
    access_errors: int = 0  # AccessDenied / KMS errors reading objects
    receives: int = 0  # ReceiveMessage calls
    receives_full: int = 0  # ... that returned as many messages as asked for (a backlog)
    receives_empty: int = 0  # ... that returned none (the long poll found the queue empty)
    receive_seconds: float = 0.0  # round trips of the full receives, in all
    messages_handled: int = 0  # messages a puller finished with (sealed or failed)
    message_seconds: float = 0.0  # time pullers spent on them, in all
    notifications_ignored: int = 0
    objects_processed: int = 0
    objects_skipped: int = 0
    objects_failed: int = 0
    records_sent: int = 0
    records_filtered: int = 0
    records_failed: int = 0
    bytes_read: int = 0
    message_age_seconds: float = 0.0  # how long the newest received message waited in SQS: the lag
    _by_service: defaultdict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(SERVICE_FIELDS, 0)), repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def add_object(self, stats: ObjectStats, *, service: str, seconds: float) -> None:
        self.add(
            objects_processed=1,
            records_sent=stats.sent,
            records_filtered=stats.filtered,
            records_failed=stats.failed,
            bytes_read=stats.bytes_read,
        )
        with self._lock:
            totals = self._by_service[service]
            for name, value in zip(
                SERVICE_FIELDS, (1, stats.sent, stats.filtered, stats.failed, stats.bytes_read, seconds), strict=True
            ):
                totals[name] += value

    def set_message_age(self, seconds: float) -> None:
        self.message_age_seconds = max(0.0, seconds)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
            values["services"] = {name: dict(totals) for name, totals in self._by_service.items()}
            return values
