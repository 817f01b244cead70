"""The minute's progress line says what was collected, and nothing when nothing happened."""

from __future__ import annotations

from devo_sqs.ingest.progress import progress_line


def test_the_progress_line_counts_objects_records_and_failures_of_the_period() -> None:
    assert progress_line([1500, 45_000, 30, 2, 7, 1], 60.0) == (
        "Collected 1,500 object(s) in the last 60 s (25.0/s): 45,000 record(s) sent, 30 filtered, 2 failed; "
        "7 object(s) skipped, 1 failed"
    )


def test_a_quiet_period_has_no_line() -> None:
    assert progress_line([0, 0, 0, 0, 0, 0], 60.0) is None
