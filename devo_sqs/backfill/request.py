"""The `devo-sqs backfill` arguments, checked as they are parsed, and the request they make."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devo_sqs.arguments import positive_number
from devo_sqs.backfill.dates import INSTANT_EXAMPLES, TimeWindow, parse_instant
from devo_sqs.errors import ConfigError


@dataclass(frozen=True)
class BackfillRequest:
    config: str | None
    bucket: str
    prefixes: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    key_regex: re.Pattern[str] | None = None
    dry_run: bool = False
    rate: float | None = None  # objects per second, at most
    queue_url: str | None = None  # default: the input's queue
    state_dir: str | None = None  # default: <state directory>/backfill
    window: TimeWindow = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "window", TimeWindow(self.since, self.until))

    def identity(self, queue_url: str) -> dict[str, Any]:
        """What makes two runs the same backfill (the rate may change between them)."""
        return {
            "bucket": self.bucket,
            "prefixes": sorted(set(self.prefixes)),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "key_regex": self.key_regex.pattern if self.key_regex else None,
            "queue_url": queue_url,
        }


def add_arguments(parser: argparse.ArgumentParser, *, config_help: str) -> None:
    parser.add_argument("config", nargs="?", help=config_help)
    parser.add_argument("--bucket", required=True, help="the bucket holding the objects")
    parser.add_argument(
        "--prefix", dest="prefixes", action="extend", nargs="+", default=[], metavar="P",
        help="list only keys starting with P (several: listed in parallel; default: the whole bucket)",
    )  # fmt: skip
    window = f"ISO 8601 date or date-time, UTC unless it has an offset ({INSTANT_EXAMPLES})"
    parser.add_argument("--since", metavar="T", type=_instant, help=f"objects from T on (inclusive); {window}")
    parser.add_argument("--until", metavar="T", type=_instant, help="objects before T (exclusive); as --since")
    parser.add_argument("--key-regex", metavar="R", type=_regex, help="only keys regular expression R finds")
    parser.add_argument("--dry-run", action="store_true", help="send nothing; print what would be sent per service")
    parser.add_argument(
        "--rate",
        metavar="N",
        type=positive_number("objects per second"),
        help="N objects a second at most (default: no limit)",
    )
    parser.add_argument("--queue-url", metavar="URL", help="send to this queue, not the input's (a backfill queue)")
    parser.add_argument("--state-dir", metavar="DIR", help="keep the checkpoint here (default: <state dir>/backfill)")


def from_arguments(args: argparse.Namespace) -> BackfillRequest:
    try:
        return _request(args)
    except ValueError as exc:  # --since not before --until
        raise ConfigError([f"--since/--until: {exc}"]) from None


def _request(args: argparse.Namespace) -> BackfillRequest:
    return BackfillRequest(
        config=args.config,
        bucket=args.bucket,
        prefixes=tuple(args.prefixes),
        since=args.since,
        until=args.until,
        key_regex=args.key_regex,
        dry_run=args.dry_run,
        rate=args.rate,
        queue_url=args.queue_url,
        state_dir=args.state_dir,
    )


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression ({exc}): {text!r}") from None
