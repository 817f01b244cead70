"""The backfill's time window: `--since` (inclusive) and `--until` (exclusive) as ISO 8601 instants, and the
periods an object key or a listing prefix covers (a day, an hour, a minute, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

INSTANT_EXAMPLES = "2024-01-16, 2024-01-16T12:30, 2024-01-16T12:30:00Z or 2024-01-16T12:30+02:00"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time; UTC unless it carries an offset; a date means its midnight."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected an ISO 8601 date or date-time ({INSTANT_EXAMPLES}), not {text!r}") from None
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end): the time a key names, at the precision it names it."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class TimeWindow:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError(f"--since ({self.since.isoformat()}) must be before --until ({self.until.isoformat()})")

    @property
    def unbounded(self) -> bool:
        return self.since is None and self.until is None

    def overlaps(self, period: Period) -> bool:
        """A key that names only its day is in the window when some of that day is."""
        return (self.since is None or period.end > self.since) and (self.until is None or period.start < self.until)

    def contains(self, instant: datetime) -> bool:
        return (self.since is None or instant >= self.since) and (self.until is None or instant < self.until)

    def describe(self) -> str:
        if self.unbounded:
            return "any time"
        since = self.since.isoformat() if self.since else "the beginning"
        until = self.until.isoformat() if self.until else "now"
        return f"from {since} (inclusive) to {until} (exclusive)"
