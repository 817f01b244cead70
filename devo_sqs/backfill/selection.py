"""Which listed objects the backfill announces, and to which service: the window (by the date in the key, else
LastModified), `--key-regex`, and the collector's own routing, so the backfill sends only what the collector
would collect. Keys no service takes, and objects filename_filter_rules skip, are counted, never sent."""

from __future__ import annotations

import re
from dataclasses import dataclass

from devo_sqs.backfill.dates import TimeWindow
from devo_sqs.backfill.layouts import key_period
from devo_sqs.backfill.listing import ListedObject
from devo_sqs.processing.services import ServiceRouter


@dataclass(frozen=True, slots=True)
class Route:
    service: str | None  # the service that takes the key; None: no service does
    skipped: bool = False  # the service's filename_filter_rules skip the object


class Selector:
    def __init__(self, router: ServiceRouter, *, window: TimeWindow, key_regex: re.Pattern[str] | None) -> None:
        self._router = router
        self._window = window
        self._key_regex = key_regex

    def selects(self, obj: ListedObject) -> bool:
        """In the window and matching `--key-regex`. Folder placeholders (`name/`, empty) are no log files."""
        if obj.key.endswith("/") and obj.size == 0:
            return False
        if self._key_regex is not None and self._key_regex.search(obj.key) is None:
            return False
        if self._window.unbounded:
            return True
        period = key_period(obj.key)
        return self._window.contains(obj.last_modified) if period is None else self._window.overlaps(period)

    def route(self, key: str) -> Route:
        pipeline = self._router.pipeline_for(key)
        if pipeline is None:
            return Route(None)
        return Route(pipeline.name, skipped=pipeline.skips(key))
