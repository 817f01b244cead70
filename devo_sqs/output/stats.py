"""Delivery counters and queue waits of one sender manager, and the statistics lines it logs."""

from __future__ import annotations

import bisect
import itertools
import math
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any


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


BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
PERCENTILES = (50, 90, 99)
SAMPLE_SIZE = 4096  # waits kept per report period for its percentiles (exact up to this many batches)


class QueueWaits:
    """How long batches waited in a sender manager's queues before an output connection took them to send.

    Two views of the same waits: `report_line()` (the SDK's `enqueued_elapsed_times_in_seconds_stats`, since the
    previous report) and `histogram()` (cumulative since start, for /metrics). Memory stays fixed: a period keeps
    a uniform sample of its waits for the percentiles; count, min, max and mean are exact.
    """

    def __init__(self, *, sample_size: int = SAMPLE_SIZE) -> None:
        self._lock = threading.Lock()
        self._sample_size = sample_size
        self._rng = random.Random()
        self._in_bucket = [0] * (len(BUCKETS_SECONDS) + 1)  # waits per bucket, not cumulative; the last is +Inf
        self._sum = 0.0
        self._period = self._new_period()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._in_bucket[bisect.bisect_left(BUCKETS_SECONDS, seconds)] += 1
            self._sum += seconds
            self._period.add(seconds)

    def report_line(self) -> str:
        """`enqueued_elapsed_times_in_seconds_stats: {...}` (`{}` when nothing waited); starts a new period."""
        with self._lock:
            period, self._period = self._period, self._new_period()
        return f"enqueued_elapsed_times_in_seconds_stats: {period.figures()}"

    def histogram(self) -> dict[str, Any]:
        """`{"buckets": [(upper bound, waits up to it), ..., (inf, count)], "sum": seconds, "count": n}`."""
        with self._lock:
            cumulative = list(itertools.accumulate(self._in_bucket))
            bounds = (*BUCKETS_SECONDS, math.inf)
            return {"buckets": list(zip(bounds, cumulative, strict=True)), "sum": self._sum, "count": cumulative[-1]}

    def _new_period(self) -> _Period:
        return _Period(self._sample_size, self._rng)


class _Period:
    """The waits of one report period: exact count, min, max and sum, and a uniform sample (Vitter's algorithm R)."""

    def __init__(self, sample_size: int, rng: random.Random) -> None:
        self.sample_size = sample_size
        self.rng = rng
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.sample: list[float] = []

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.min, self.max = min(self.min, seconds), max(self.max, seconds)
        if len(self.sample) < self.sample_size:
            self.sample.append(seconds)
        elif (slot := self.rng.randrange(self.count)) < self.sample_size:
            self.sample[slot] = seconds

    def figures(self) -> str:
        """`{"count": 4, "min": 0.001, "max": 1.013, "mean": 0.758, "p50": 1.004, "p90": 1.013, "p99": 1.013}`."""
        if not self.count:
            return "{}"
        ordered = sorted(self.sample)
        seconds = {"min": self.min, "max": self.max, "mean": self.total / self.count}
        seconds |= {f"p{p}": ordered[math.ceil(p / 100 * len(ordered)) - 1] for p in PERCENTILES}  # nearest rank
        return "{" + ", ".join([f'"count": {self.count}', *(f'"{k}": {v:.3f}' for k, v in seconds.items())]) + "}"
