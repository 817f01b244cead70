"""What processors produce, and the per-object context they report into."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from devo_sqs.config.limits import DEFAULT_LIMITS, Limits

log = logging.getLogger(__name__)

MALFORMED_LOG_LINES_PER_OBJECT = 5

T = TypeVar("T")


class Records(NamedTuple):
    """A run of consecutive records from one object."""

    messages: list[bytes]  # what is sent, one per record: UTF-8, never framed
    parsed: list[Any] | None  # the decoded record per message (for field mapping), or None when not parsed

    def runs(self, size: int) -> Iterator[Records]:
        """This run cut into runs of at most `size` records (itself when it is short enough); none when empty."""
        count = len(self.messages)
        if count <= size:
            if count:
                yield self
            return
        for start in range(0, count, size):
            parsed = self.parsed[start : start + size] if self.parsed is not None else None
            yield Records(self.messages[start : start + size], parsed)


@dataclass(slots=True)
class ObjectStats:
    """Counters for one object; the puller sums them into its totals."""

    bytes_read: int = 0  # decompressed bytes seen
    records: int = 0  # records produced by the processor
    sent: int = 0  # records handed to the output
    filtered: int = 0  # records dropped by line_filter_rules
    failed: int = 0  # malformed records skipped
    replaced_bytes: int = 0  # undecodable bytes replaced by U+FFFD


@dataclass(slots=True)
class ObjectContext:
    """What a processor knows of the object it reads, and where it reports malformed input."""

    source: str  # s3://bucket/key or a local path, for log lines
    charset: str = "utf-8"
    stats: ObjectStats = field(default_factory=ObjectStats)
    limits: Limits = DEFAULT_LIMITS
    _logged: int = 0
    _started: float = field(default_factory=time.monotonic)

    def malformed(self, reason: str, sample: bytes | str = b"") -> None:
        """Count one skipped record; log the first few of each object, then only a summary at the end."""
        self.stats.failed += 1
        if self._logged < MALFORMED_LOG_LINES_PER_OBJECT:
            self._logged += 1
            shown = sample[:120] if isinstance(sample, str) else sample[:120].decode("utf-8", "replace")
            log.warning("Skipped a malformed record in %s: %s: %r", self.source, reason, shown)

    def with_charset(self, charset: str) -> ObjectContext:
        """The same object (stats, limits) read in another charset: for text converted while it streams."""
        return dataclasses.replace(self, charset=charset)

    @property
    def elapsed_seconds(self) -> float:
        return time.monotonic() - self._started

    def summary(self) -> str:
        s = self.stats
        return (
            f"records={s.records} sent={s.sent} filtered={s.filtered} failed={s.failed} "
            f"replaced_bytes={s.replaced_bytes} bytes={s.bytes_read} "
            f"elapsed={time.monotonic() - self._started:.3f}s"
        )


def in_runs(items: list[T], size: int) -> Iterator[list[T]]:
    """`items` in runs of at most `size` (the list itself when it is short enough)."""
    if len(items) <= size:
        if items:
            yield items
        return
    for start in range(0, len(items), size):
        yield items[start : start + size]
