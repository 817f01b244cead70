"""From one Delimiter listing to the next step of the walk: date folders out of the window are never listed, a
day folder in it is listed whole, and undated folders are looked into only where that pays."""

from __future__ import annotations

from datetime import UTC, datetime

from devo_sqs.backfill.dates import TimeWindow
from devo_sqs.backfill.listing import Level, Unit
from devo_sqs.backfill.walk import OTHER_FANOUT, Directory, distinct_prefixes, expand, plan, roots

WINDOW = TimeWindow(datetime(2024, 1, 2, 6, tzinfo=UTC), datetime(2024, 1, 4, tzinfo=UTC))
REGION = "AWSLogs/111122223333/CloudTrail/us-east-1/"


def level(prefix: str, *subprefixes: str, has_objects: bool = False, complete: bool = True) -> Level:
    return Level(prefix, has_objects, tuple(prefix + sub for sub in subprefixes), complete)


def test_the_accounts_services_and_regions_of_awslogs_are_all_looked_into() -> None:
    accounts = [f"{n:012d}/" for n in range(2 * OTHER_FANOUT)]
    nodes = plan(level("AWSLogs/", *accounts), depth=1, window=WINDOW, awslogs=True)
    assert nodes == [Directory(f"AWSLogs/{account}", 2) for account in accounts]


def test_years_and_months_out_of_the_window_are_skipped_and_days_in_it_become_units() -> None:
    years = plan(level(REGION, "2023/", "2024/", "2025/"), depth=4, window=WINDOW, awslogs=True)
    assert years == [Directory(REGION + "2024/", 4)]
    months = plan(level(REGION + "2024/", "01/", "02/"), depth=4, window=WINDOW, awslogs=True)
    assert months == [Directory(REGION + "2024/01/", 4)]
    days = plan(level(REGION + "2024/01/", "01/", "02/", "03/", "04/", "05/"), depth=4, window=WINDOW, awslogs=True)
    assert days == [Unit(REGION + "2024/01/02/"), Unit(REGION + "2024/01/03/")]


def test_aws_config_unpadded_days_are_narrowed_the_same_way() -> None:
    prefix = "AWSLogs/111122223333/Config/us-east-1/2024/1/"
    nodes = plan(level(prefix, "1/", "2/", "3/", "4/", "31/"), depth=4, window=WINDOW, awslogs=True)
    assert nodes == [Unit(prefix + "2/"), Unit(prefix + "3/")]


def test_objects_beside_the_folders_are_a_unit_of_their_own() -> None:
    prefix = "AWSLogs/111122223333/Config/"
    nodes = plan(level(prefix, "us-east-1/", has_objects=True), depth=3, window=WINDOW, awslogs=True)
    assert nodes == [Unit(prefix, level=True), Directory(prefix + "us-east-1/", 4)]


def test_day_folders_of_other_layouts_are_units_when_in_the_window() -> None:
    nodes = plan(level("dnslogs/", "2024-01-01/", "2024-01-03/", "2024-01-04/"), depth=1, window=WINDOW, awslogs=False)
    assert nodes == [Unit("dnslogs/2024-01-03/")]
    nodes = plan(level("logpush/", "20240101/", "20240102/"), depth=1, window=WINDOW, awslogs=False)
    assert nodes == [Unit("logpush/20240102/")]


def test_undated_folders_elsewhere_are_looked_into_a_few_levels_deep_then_listed_whole() -> None:
    assert plan(level("unix/", "secure/"), depth=0, window=WINDOW, awslogs=False) == [Directory("unix/secure/", 1)]
    assert plan(level("a/b/c/", "host01/"), depth=3, window=WINDOW, awslogs=False) == [Unit("a/b/c/host01/")]


def test_a_wide_or_long_level_elsewhere_is_listed_whole() -> None:
    many = [f"{n:05d}-uuid/" for n in range(OTHER_FANOUT + 1)]
    assert plan(level("data/", *many), depth=1, window=WINDOW, awslogs=False) == [Unit("data/")]
    assert plan(level("logs/", complete=False), depth=0, window=WINDOW, awslogs=False) == [Unit("logs/")]


def test_awslogs_under_a_bucket_prefix_gets_the_deeper_walk() -> None:
    nodes = plan(level("a/b/c/", "AWSLogs/"), depth=3, window=WINDOW, awslogs=False)
    assert nodes == [Directory("a/b/c/AWSLogs/", 4)]


def test_expand_reads_every_page_of_awslogs_levels_and_one_page_elsewhere() -> None:
    asked: list[tuple[str, bool]] = []

    def read_level(prefix: str, all_pages: bool) -> Level:
        asked.append((prefix, all_pages))
        return Level(prefix, False, (), True)

    expand(Directory("trails/AWSLogs/o-1/"), WINDOW, read_level)
    expand(Directory("dnslogs/"), WINDOW, read_level)
    assert asked == [("trails/AWSLogs/o-1/", True), ("dnslogs/", False)]


def test_no_prefix_is_listed_twice() -> None:
    assert distinct_prefixes([]) == [""]
    assert distinct_prefixes(["AWSLogs/1/", "AWSLogs/", "app/", "app/"]) == ["AWSLogs/", "app/"]
    assert distinct_prefixes(["AWSLogs/1", "AWSLogs/12/", "AWSLogs/2/"]) == ["AWSLogs/1", "AWSLogs/2/"]


def test_without_a_window_each_prefix_is_listed_whole_at_once() -> None:
    assert roots(["b/", "a/"], TimeWindow()) == [Unit("a/"), Unit("b/")]
    assert roots([], WINDOW) == [Directory("")]
