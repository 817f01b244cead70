"""Accumulate (tag, messages) runs into Batches of bounded records, bytes and age."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from devo_sqs.messages import Batch, Kind

BATCH_IDS = itertools.count()


class BatchBuilder:
    def __init__(
        self,
        *,
        kind: Kind,
        source: str,
        max_records: int,
        max_bytes: int,
        max_age_seconds: float,
        emit: Callable[[Batch], None],
    ) -> None:
        self.kind = kind
        self.source = source
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._max_age_seconds = max_age_seconds
        self._emit = emit
        self._runs: dict[str, list[bytes]] = {}
        self._records = 0
        self._bytes = 0
        self._started = 0.0

    def add(self, tag: str, messages: list[bytes]) -> None:
        while messages:
            room = self._max_records - self._records
            part, messages = (messages, []) if len(messages) <= room else (messages[:room], messages[room:])
            if not self._records:
                self._started = time.monotonic()
            run = self._runs.get(tag)
            if run is None:
                self._runs[tag] = part
            else:
                run.extend(part)
            self._records += len(part)
            self._bytes += sum(map(len, part))
            if self._full():
                self.flush()

    def flush(self) -> None:
        if not self._records:
            return
        batch = Batch(batch_id=next(BATCH_IDS), kind=self.kind, source=self.source, groups=list(self._runs.items()))
        self._runs, self._records, self._bytes = {}, 0, 0
        self._emit(batch)

    def _full(self) -> bool:
        return (
            self._records >= self._max_records
            or self._bytes >= self._max_bytes
            or time.monotonic() - self._started >= self._max_age_seconds
        )
