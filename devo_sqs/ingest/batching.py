"""Accumulate (tag, messages) runs into Batches of bounded records, bytes and age, remembering which positions of
which object's record sequence each batch settles (so acknowledgements can advance that object's checkpoint).

A span of an object's sequence never straddles two batches: each batch then settles whole ranges of positions,
the records filtered out or malformed between its messages included, and an acknowledged batch advances the
checkpoint over exactly what it delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from devo_sqs.messages import Batch, Kind, batch_ids
from devo_sqs.persistence.state import Checkpoint
from devo_sqs.processing.sequence import Span

BATCH_IDS = batch_ids()


@dataclass(slots=True)
class Segment:
    """Positions [start, end) of one object's record sequence, settled by one batch."""

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
        self._cursor = 0  # the end of the current object's sequence seen so far

    @property
    def max_records(self) -> int:
        return self._max_records

    def begin_object(self, checkpoint: Checkpoint) -> None:
        """Spans added from now on belong to this object, which resumes where `checkpoint` stands."""
        self._checkpoint = checkpoint
        self._cursor = checkpoint.resume_at

    def end_object(self) -> int:
        """The length of the object's record sequence (what it resumed after included)."""
        total, self._checkpoint = self._cursor, None
        return total

    def add_span(self, span: Span) -> None:
        """A span of the current object (at most `max_records` records): in the open batch when it fits, else in
        the next one."""
        checkpoint = self._checkpoint
        assert checkpoint is not None, "add_span outside begin_object/end_object"
        self._cursor = max(self._cursor, span.end)
        records = sum(len(messages) for _, messages in span.runs)
        if not records:
            self._settled(checkpoint, span.start, span.end)
            return
        if self._records + records > self._max_records:
            self.flush()
        for tag, messages in span.runs:
            self._append(tag, messages)
        self._settled(checkpoint, span.start, span.end)
        if self._full():
            self.flush()

    def add(self, tag: str, messages: list[bytes]) -> None:
        """Records of no object's sequence (a message body, an audit event), cut into batches as they come."""
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

    def _settled(self, checkpoint: Checkpoint, start: int, end: int) -> None:
        """Positions [start, end) are settled with the open batch; with none open, once everything before them is
        (records filtered out need no delivery, but the prefix may not pass a record still in flight)."""
        if not self._records:
            checkpoint.acknowledged(start, end)
            return
        last = self._segments[-1] if self._segments else None
        if last is not None and last.checkpoint is checkpoint and last.end == start:
            last.end = end
        else:
            self._segments.append(Segment(checkpoint, start, end))

    def _full(self) -> bool:
        return (
            self._records >= self._max_records
            or self._bytes >= self._max_bytes
            or time.monotonic() - self._started >= self._max_age_seconds
        )
