"""From the requested prefixes to the units to list, without listing the whole bucket: date-partitioned layouts
are narrowed to the date prefixes in the window, found level by level with Delimiter listings.

Under `AWSLogs/` every account, service and region is looked into (that is the point of the layout). Elsewhere a
prefix is looked into only a few levels deep and only while it holds few sub-prefixes; past that, one listing of
everything under it is cheaper than one listing per sub-prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from devo_sqs.backfill.dates import TimeWindow
from devo_sqs.backfill.layouts import prefix_period, under_awslogs
from devo_sqs.backfill.listing import Level, Unit

AWSLOGS_DEPTH = 8  # [PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/SERVICE/REGION/[WEBACL or VPC/] above the dates, and spares
OTHER_DEPTH = 3  # e.g. LOG_TYPE/LOG_SUBTYPE/HOST/ above YYYY/MM/DD/
OTHER_FANOUT = 100  # sub-prefixes worth a listing each


@dataclass(frozen=True, slots=True)
class Directory:
    """A prefix still to be looked into."""

    prefix: str
    depth: int = 0  # levels without a date between the requested prefix and this one


Node = Directory | Unit
ReadLevel = Callable[[str, bool], Level]  # (prefix, all pages?) -> Level


def roots(prefixes: list[str], window: TimeWindow) -> list[Node]:
    """Without a window there is nothing to narrow: each prefix is listed whole."""
    distinct = distinct_prefixes(prefixes)
    return [Unit(prefix) if window.unbounded else Directory(prefix) for prefix in distinct]


def distinct_prefixes(prefixes: list[str]) -> list[str]:
    """Prefixes that no other covers, so no object is listed twice ('' stands for the whole bucket)."""
    ordered = sorted(set(prefixes or [""]))
    kept: list[str] = []
    for prefix in ordered:
        if not any(prefix.startswith(other) for other in kept):
            kept.append(prefix)
    return kept


def expand(directory: Directory, window: TimeWindow, read_level: ReadLevel) -> list[Node]:
    """One step of the walk: the units and directories below `directory`."""
    awslogs = under_awslogs(directory.prefix)
    level = read_level(directory.prefix, awslogs)
    return plan(level, depth=directory.depth, window=window, awslogs=awslogs)


def plan(level: Level, *, depth: int, window: TimeWindow, awslogs: bool) -> list[Node]:
    undated = [prefix for prefix in level.subprefixes if prefix_period(prefix) is None]
    if not awslogs and (not level.complete or len(undated) > OTHER_FANOUT):
        return [Unit(level.prefix)]
    nodes: list[Node] = [Unit(level.prefix, level=True)] if level.has_objects else []
    max_depth = AWSLOGS_DEPTH if awslogs or any(under_awslogs(prefix) for prefix in undated) else OTHER_DEPTH
    for prefix in level.subprefixes:
        period = prefix_period(prefix)
        if period is None:
            nodes.append(Directory(prefix, depth + 1) if depth < max_depth else Unit(prefix))
        elif window.overlaps(period):
            nodes.append(Unit(prefix) if period.end - period.start <= timedelta(days=1) else Directory(prefix, depth))
    return nodes
