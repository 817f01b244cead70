"""Backfill progress: a bar redrawn in place on a terminal, plain log lines elsewhere (a pipe, a Kubernetes Job).

The listing runs ahead of the sending only so far (the objects waiting are bounded), so until it is complete the
total is a lower bound, shown with a `+`, and so is the ETA (`>`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

log = logging.getLogger(__name__)

BAR_WIDTH = 24
UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    sent: int  # objects sent by this run
    sent_bytes: int
    known: int  # objects this run has to send, as far as listed
    known_bytes: int
    listing_done: bool
    elapsed: float  # seconds since this run started sending

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> str:
        if self.known <= self.sent:
            return "0:00:00" if self.listing_done else "?"
        if self.rate <= 0:
            return "?"
        seconds = int((self.known - self.sent) / self.rate)
        return ("" if self.listing_done else ">") + f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def human_bytes(size: float) -> str:
    for unit in UNITS:
        if size < 1024 or unit == UNITS[-1]:
            return f"{size:.2f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    raise AssertionError("unreachable")


def render_bar(snapshot: Snapshot) -> str:
    more = "" if snapshot.listing_done else "+"
    share = snapshot.sent / snapshot.known if snapshot.known else (1.0 if snapshot.listing_done else 0.0)
    filled = round(share * BAR_WIDTH)
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} "
        f"{snapshot.sent:,}/{snapshot.known:,}{more} objects, "
        f"{human_bytes(snapshot.sent_bytes)}/{human_bytes(snapshot.known_bytes)}{more}, "
        f"{snapshot.rate:,.0f} objects/s, ETA {snapshot.eta}"
    )


def render_line(snapshot: Snapshot) -> str:
    more = "" if snapshot.listing_done else "+"
    return (
        f"Backfill progress: {snapshot.sent:,} of {snapshot.known:,}{more} object(s) sent "
        f"({human_bytes(snapshot.sent_bytes)} of {human_bytes(snapshot.known_bytes)}{more}), "
        f"{snapshot.rate:,.1f} objects/s, ETA {snapshot.eta}"
    )


class ProgressReporter:
    """`tick()` as often as convenient: it draws at most every `interval` seconds (`force` draws now)."""

    def __init__(
        self,
        source: Callable[[], Snapshot],
        *,
        stream: TextIO,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._stream = stream
        self._terminal = stream.isatty()
        self._interval = interval if interval is not None else (0.25 if self._terminal else 10.0)
        self._clock = clock
        self._last: float | None = None
        self._drawn = False

    def tick(self, *, force: bool = False) -> None:
        now = self._clock()
        if not force and self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        snapshot = self._source()
        if self._terminal:
            self._stream.write("\r" + render_bar(snapshot) + "\x1b[K")
            self._stream.flush()
            self._drawn = True
        else:
            log.info("%s", render_line(snapshot))

    def close(self) -> None:
        """Draw the final state and leave the terminal's cursor on a fresh line."""
        self.tick(force=True)
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
