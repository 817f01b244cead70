"""Delivery counters of one sender manager, and the statistics lines it logs."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime


class DeliveryStats:
    def __init__(self, label: str) -> None:
        self.label = label  # "Standard", "Lookup", "Internal"
        self._lock = threading.Lock()
        self.total = 0
        self.spooled_records = 0
        self.resent_records = 0  # sent again from the replay window after an abnormal close (duplicates)
        self.by_tag: Counter[str] = Counter()
        self._since_count = 0
        self._since = datetime.now(UTC)
        self._since_monotonic = time.monotonic()

    def delivered(self, runs: list[tuple[str, list[bytes]]]) -> None:
        with self._lock:
            for tag, messages in runs:
                self.by_tag[tag] += len(messages)
                self.total += len(messages)
                self._since_count += len(messages)

    def spooled(self, records: int) -> None:
        with self._lock:
            self.spooled_records += records

    def resent(self, records: int) -> None:
        with self._lock:
            self.resent_records += records

    def report_line(self) -> str:
        """`Standard - Total number of messages sent: T, messages sent since "<ts>": P (elapsed S seconds)`;
        starts a new period."""
        with self._lock:
            now = time.monotonic()
            line = (
                f'{self.label} - Total number of messages sent: {self.total}, messages sent since "{self._since}": '
                f"{self._since_count} (elapsed {now - self._since_monotonic:.3f} seconds)"
            )
            if self.resent_records:
                line += f", messages sent again after a receiver failure: {self.resent_records}"
            self._since_count, self._since, self._since_monotonic = 0, datetime.now(UTC), now
            return line

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "total": self.total,
                "by_tag": dict(self.by_tag),
                "spooled": self.spooled_records,
                "resent": self.resent_records,
            }
