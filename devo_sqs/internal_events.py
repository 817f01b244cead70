"""The collector's own events, sent through the `internal` sender manager: its warnings and errors, and
failure reports (e.g. a message dropped after too many receives), under `devo.collectors.out.*` tags."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from devo_sqs.messages import Batch
from devo_sqs.processing.routing import sanitize

TAG_PREFIX = "devo.collectors.out"
EVENTS_PER_MINUTE = 60


def internal_ids(start: int) -> Iterator[int]:
    """Internal batches are never acknowledged: their ids are negative, each process in its own range."""
    return itertools.count(start, -1)


class InternalEvents:
    def __init__(
        self, *, collector: str, input_name: str, input_id: str, ids: Iterator[int], sink: Callable[[Batch], None]
    ) -> None:
        self._prefix = f"{TAG_PREFIX}.{sanitize(collector)}.{sanitize(input_name)}"
        self._identity = {"collector": collector, "input": input_name, "input_id": input_id}
        self._ids = ids
        self._sink = sink

    def report(self, level: str, fields: dict[str, Any]) -> None:
        event = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level, **self._identity, **fields}
        batch = Batch(
            next(self._ids), "internal", "internal events", [(f"{self._prefix}.{level}", [orjson.dumps(event)])]
        )
        self._sink(batch)


class InternalLogHandler(logging.Handler):
    """Forwards WARNING and above as internal events, at most EVENTS_PER_MINUTE. Records of the output
    machinery are not forwarded: an output that is down would otherwise feed on its own warnings."""

    def __init__(self, events: InternalEvents) -> None:
        super().__init__(logging.WARNING)
        self._events = events
        self._window_start = 0.0
        self._sent_in_window = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("devo_sqs.output") or not self._allowed():
            return
        try:
            fields = {"msg": record.getMessage(), "process": record.processName, "thread": record.threadName}
            self._events.report(record.levelname.lower(), fields)
        except Exception:  # a failing handler must never break the code that logged
            self.handleError(record)

    def _allowed(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 60:
            self._window_start, self._sent_in_window = now, 0
        self._sent_in_window += 1
        return self._sent_in_window <= EVENTS_PER_MINUTE
