"""What an operator sees: a bar on a terminal, plain log lines elsewhere, and the per-service summary; and the
pacing `--rate` asks for."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest

from devo_sqs.backfill.listing import ListedObject
from devo_sqs.backfill.progress import ProgressReporter, Snapshot, human_bytes, render_bar, render_line
from devo_sqs.backfill.report import UNCLAIMED_SHOWN, Tally, summary
from devo_sqs.backfill.sending import RateLimiter

HALF_WAY = Snapshot(sent=1_000, sent_bytes=3 * 2**20, known=2_000, known_bytes=6 * 2**20, listing_done=True, elapsed=4)


def test_the_bar_shows_objects_bytes_rate_and_eta() -> None:
    assert render_bar(HALF_WAY) == (
        "[############............]  50% 1,000/2,000 objects, 3.00 MiB/6.00 MiB, 250 objects/s, ETA 0:00:04"
    )


def test_while_the_listing_runs_totals_and_eta_are_lower_bounds() -> None:
    listing = Snapshot(sent=10, sent_bytes=900, known=4_010, known_bytes=2**31, listing_done=False, elapsed=2)
    assert render_line(listing) == (
        "Backfill progress: 10 of 4,010+ object(s) sent (900 B of 2.00 GiB+), 5.0 objects/s, ETA >0:13:20"
    )
    assert render_line(Snapshot(sent=0, sent_bytes=0, known=0, known_bytes=0, listing_done=False, elapsed=0)).endswith(
        "0.0 objects/s, ETA ?"
    )
    assert render_bar(
        Snapshot(sent=7, sent_bytes=70, known=7, known_bytes=70, listing_done=True, elapsed=1)
    ).startswith("[" + "#" * 24 + "] 100% 7/7")


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.00 KiB"), (1536 * 2**20, "1.50 GiB"), (2**50, "1024.00 TiB")],
)
def test_sizes_are_in_binary_units(size: int, text: str) -> None:
    assert human_bytes(size) == text


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_bar_redrawn_in_place_at_most_every_interval() -> None:
    now = [0.0]
    stream = Terminal()
    reporter = ProgressReporter(lambda: HALF_WAY, stream=stream, interval=1.0, clock=lambda: now[0])
    reporter.tick()
    now[0] = 0.5
    reporter.tick()
    now[0] = 1.0
    reporter.tick()
    reporter.close()
    drawn = "\r" + render_bar(HALF_WAY) + "\x1b[K"
    assert stream.getvalue() == drawn * 3 + "\n"


def test_elsewhere_progress_is_plain_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    reporter = ProgressReporter(lambda: HALF_WAY, stream=stream, interval=10.0, clock=lambda: 0.0)
    with caplog.at_level(logging.INFO, logger="devo_sqs.backfill.progress"):
        reporter.tick()
        reporter.tick()
        reporter.close()
    assert stream.getvalue() == ""
    assert caplog.messages == [render_line(HALF_WAY)] * 2


def listed(key: str, size: int) -> ListedObject:
    return ListedObject(key, size, "etag", datetime(2024, 1, 2, tzinfo=UTC))


def test_the_summary_counts_per_service_what_was_sent_skipped_and_taken_by_none() -> None:
    tally = Tally()
    for n in range(3):
        tally.listed_one(selected=True)
        tally.sent("aws_sqs_cloudtrail", listed(f"ct/{n}", 1_000_000))
    tally.listed_one(selected=True)
    tally.sent("aws_sqs_vpc", listed("vpc/0", 5))
    tally.listed_one(selected=True)
    tally.skipped("aws_sqs_cloudtrail", listed("ct/CloudTrail-Digest/0", 7))
    tally.listed_one(selected=False)
    tally.listed_one(selected=True)
    tally.no_service(listed("other/x.log", 11))
    assert summary(tally, dry_run=True).splitlines() == [
        "Listed 7 object(s), 6 in the selection (window and --key-regex).",
        "would send (objects, bytes) per service:",
        "  aws_sqs_cloudtrail             3           3,000,000",
        "  aws_sqs_vpc                    1                   5",
        "  total                          4           3,000,005",
        "skipped by filename_filter_rules (objects, bytes):",
        "  aws_sqs_cloudtrail             1                   7",
        "  total                          1                   7",
        "no service takes 1 key(s) (11 bytes), never sent:",
        "  other/x.log",
    ]
    assert summary(Tally(), dry_run=False).splitlines() == [
        "Listed 0 object(s), 0 in the selection (window and --key-regex).",
        "sent (objects, bytes) per service: none",
        "skipped by filename_filter_rules (objects, bytes): none",
        "no service takes: none",
    ]


def test_only_the_first_keys_no_service_takes_are_shown() -> None:
    tally = Tally()
    for n in range(UNCLAIMED_SHOWN + 5):
        tally.no_service(listed(f"other/{n:03d}", 1))
    lines = summary(tally, dry_run=False).splitlines()
    assert lines[-1] == "  ... and 5 more"
    assert lines[-2] == f"  other/{UNCLAIMED_SHOWN - 1:03d}"


def test_the_rate_limit_spaces_batches_evenly() -> None:
    now = [100.0]
    limiter = RateLimiter(20.0, clock=lambda: now[0])
    assert [limiter.delay(10), limiter.delay(10), limiter.delay(5)] == [0.0, 0.5, 1.0]
    now[0] = 110.0  # idle for long: no burst is saved up
    assert [limiter.delay(10), limiter.delay(10)] == [0.0, 0.5]
    assert RateLimiter(None).delay(10) == 0.0
