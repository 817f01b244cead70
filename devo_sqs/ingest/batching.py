"""Accumulate (tag, messages) runs into Batches of bounded records, bytes and age, remembering which records
of which object each batch holds (so acknowledgements can advance that object's checkpoint)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from devo_sqs.messages import Batch, Kind, batch_ids
from devo_sqs.persistence.state import Checkpoint

BATCH_IDS = batch_ids()


@dataclass(slots=True)
class Segment:
    """Records [start, end) of one object, in one batch."""

    checkpoint: Checkpoint
    start: int
    end: int


class BatchBuilder:
    def __init__(
        self,
        *,
        kind: Kind,
        source: str,
        max_records: int,
        max_bytes: int,
        max_age_seconds: float,
        emit: Callable[[Batch, list[Segment]], None],
    ) -> None:
        self.kind = kind
        self.source = source
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._max_age_seconds = max_age_seconds
        self._emit = emit
        self._runs: dict[str, list[bytes]] = {}
        self._segments: list[Segment] = []
        self._records = 0
        self._bytes = 0
        self._started = 0.0
        self._checkpoint: Checkpoint | None = None
        self._cursor = 0  # index of the next record of the current object
        self._skip_until = 0

    def begin_object(self, checkpoint: Checkpoint | None) -> None:
        """Records added from now on belong to this object; its delivered prefix is skipped."""
        self._checkpoint = checkpoint
        self._cursor = 0
        self._skip_until = checkpoint.resume_at if checkpoint else 0

    def end_object(self) -> int:
        """The number of records the object had (skipped ones included)."""
        total, self._checkpoint = self._cursor, None
        return total

    def add(self, tag: str, messages: list[bytes]) -> None:
        if self._cursor < self._skip_until:
            skipped = min(len(messages), self._skip_until - self._cursor)
            self._cursor += skipped
            messages = messages[skipped:]
        while messages:
            room = self._max_records - self._records
            part, messages = (messages, []) if len(messages) <= room else (messages[:room], messages[room:])
            self._append(tag, part)
            if self._full():
                self.flush()

    def flush(self) -> None:
        if not self._records:
            return
        batch = Batch(batch_id=next(BATCH_IDS), kind=self.kind, source=self.source, groups=list(self._runs.items()))
        segments = self._segments
        self._runs, self._segments, self._records, self._bytes = {}, [], 0, 0
        self._emit(batch, segments)

    def _append(self, tag: str, part: list[bytes]) -> None:
        if not self._records:
            self._started = time.monotonic()
        run = self._runs.get(tag)
        if run is None:
            self._runs[tag] = part
        else:
            run.extend(part)
        self._records += len(part)
        self._bytes += sum(map(len, part))
        if self._checkpoint is not None:
            last = self._segments[-1] if self._segments else None
            if last is not None and last.checkpoint is self._checkpoint and last.end == self._cursor:
                last.end += len(part)
            else:
                self._segments.append(Segment(self._checkpoint, self._cursor, self._cursor + len(part)))
        self._cursor += len(part)

    def _full(self) -> bool:
        return (
            self._records >= self._max_records
            or self._bytes >= self._max_bytes
            or time.monotonic() - self._started >= self._max_age_seconds
        )
