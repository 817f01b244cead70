"""How long batches waited in a sender manager's queues: the monitor's line, the /metrics histogram, the timing."""

from __future__ import annotations

import math
import threading
import time

from devo_sqs.output.stats import BUCKETS_SECONDS, QueueWaits
from devo_sqs.output.timed_queue import TimedQueue

PREFIX = "enqueued_elapsed_times_in_seconds_stats: "


def observed(*seconds: float, sample_size: int = 4096) -> QueueWaits:
    waits = QueueWaits(sample_size=sample_size)
    for value in seconds:
        waits.observe(value)
    return waits


def test_the_line_gives_count_min_max_mean_and_nearest_rank_percentiles_in_seconds() -> None:
    waits = observed(2.0, 0.25, 1.0, 0.5, 0.0004)
    assert waits.report_line() == (
        PREFIX + '{"count": 5, "min": 0.000, "max": 2.000, "mean": 0.750, "p50": 0.500, "p90": 2.000, "p99": 2.000}'
    )


def test_a_period_without_waits_shows_empty_braces_and_each_line_starts_a_new_period() -> None:
    waits = QueueWaits()
    assert waits.report_line() == PREFIX + "{}"
    waits.observe(0.125)
    assert waits.report_line() == (
        PREFIX + '{"count": 1, "min": 0.125, "max": 0.125, "mean": 0.125, "p50": 0.125, "p90": 0.125, "p99": 0.125}'
    )
    assert waits.report_line() == PREFIX + "{}"


def test_a_long_period_keeps_a_bounded_sample_yet_exact_count_min_max_and_mean() -> None:
    waits = observed(*(n / 1000 for n in range(1, 10_000)), sample_size=100)
    assert len(waits._period.sample) == 100
    figures = waits.report_line().removeprefix(PREFIX)
    head, _, percentiles = figures.partition(', "p50"')
    assert head == '{"count": 9999, "min": 0.001, "max": 9.999, "mean": 5.000'
    values = [float(part.split(": ")[1]) for part in percentiles.rstrip("}").split(", ")]
    assert len(values) == 3 and values == sorted(values) and values[0] >= 0.001 and values[-1] <= 9.999


def test_the_histogram_is_cumulative_since_start_whatever_the_report_periods() -> None:
    waits = observed(0.001, 0.3, 0.3)
    waits.report_line()
    waits.observe(0.005)  # on a bucket's upper bound: counted in it (le)
    waits.observe(400.0)
    histogram = waits.histogram()
    assert histogram["count"] == 5
    assert math.isclose(histogram["sum"], 400.606)
    assert dict(histogram["buckets"]) == {
        0.005: 2,
        0.01: 2,
        0.025: 2,
        0.05: 2,
        0.1: 2,
        0.25: 2,
        0.5: 4,
        1.0: 4,
        2.5: 4,
        5.0: 4,
        10.0: 4,
        30.0: 4,
        60.0: 4,
        300.0: 4,
        math.inf: 5,
    }
    assert [bound for bound, _ in histogram["buckets"]] == [*BUCKETS_SECONDS, math.inf]


def test_a_timed_queue_reports_each_items_wait_from_put_to_get() -> None:
    waits: list[float] = []
    channel: TimedQueue[str] = TimedQueue(2, on_wait=waits.append)
    channel.put("first")
    time.sleep(0.2)
    channel.put("second")
    assert channel.get(timeout=1) == "first"
    assert len(waits) == 1 and waits[0] >= 0.2
    time.sleep(0.1)
    assert channel.get(timeout=1) == "second"
    assert len(waits) == 2 and waits[1] >= 0.1
    assert channel.qsize() == 0


def test_a_timed_queue_keeps_its_bound_and_pairs_each_item_with_its_own_put_time() -> None:
    waits: list[float] = []
    channel: TimedQueue[int] = TimedQueue(1, on_wait=waits.append)
    channel.put(1)
    blocked = threading.Thread(target=channel.put, args=(2,))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive() and channel.qsize() == 1  # full: the second put waits
    assert channel.get(timeout=1) == 1
    blocked.join(5)
    assert not blocked.is_alive()
    assert channel.get(timeout=1) == 2
    assert len(waits) == 2 and waits[0] >= 0.3
