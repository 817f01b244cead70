"""Delivery state, per input id: which objects were fully delivered, and how far into its record sequence an
object interrupted half-way was. A redelivered message then re-sends neither a finished object nor the delivered
prefix of an unfinished one; a crash duplicates at most the batches in flight for an object.

An entry is keyed by the content a GET returned (bucket, key, ETag and size), so a rewritten object is new. A
checkpoint counts positions in the object's own record sequence (every record its processor makes, malformed
ones included, before filtering and routing: see `processing/sequence.py`) and names the fingerprint of what
shaped that sequence; under another fingerprint the object starts over. It may resend, never skip.

Finished objects are marked in groups, within FINISHED_WRITE_SECONDS, in one transaction (a write for each small
object cost a tenth of the InputProcess's CPU); a mark waiting to be written already counts here. A crash before it
is written costs at most the object's last batch again, and only if the object is announced again: its message is
deleted once its batches are confirmed, whatever the mark. Positions short of the end are written at once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import diskcache

from devo_sqs.messages import ObjectIdentity

log = logging.getLogger(__name__)

RETENTION_SECONDS = 14 * 24 * 3600  # SQS keeps a message at most 14 days
DONE = -1
COMPLAIN_SECONDS = 60.0
FINISHED_WRITE_SECONDS = 0.2
FINISHED_BATCH = 64  # marks that are written at once, without waiting for the rest of FINISHED_WRITE_SECONDS


def object_id(identity: ObjectIdentity) -> str:
    """Bucket, key and content: an object overwritten with new content counts as new."""
    return f"{identity.bucket}/{identity.key}@{identity.content}"


class DeliveryState:
    """A state that cannot be read or written (a full or read-only volume) costs duplicates, never records: it is
    then taken as empty, and one error line a minute says so."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._cache = diskcache.Cache(str(directory))
        self._complained_at = -COMPLAIN_SECONDS
        self._finished: dict[str, None] = {}  # finished objects whose mark is not written yet
        self._finished_lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def checkpoint(self, identity: ObjectIdentity, *, fingerprint: str) -> Checkpoint | None:
        """Where the object's delivery stands; None when the whole object was delivered (whatever the
        configuration then: a finished object is not sent again because a setting changed since)."""
        key = object_id(identity)
        if key in self._finished:
            return None
        try:
            value = self._cache.get(key, None)
        except Exception as exc:
            self._complain("read", exc)
            value = None
        if value == DONE:
            return None
        return Checkpoint(self, key, fingerprint=fingerprint, acked_until=_resume_at(value, fingerprint, identity))

    def record(self, key: str, value: object) -> None:
        if value == DONE:
            self._mark_finished(key)
        else:
            self._write({key: value})

    def flush(self) -> None:
        """Write the finished marks still waiting (their timer, a full group, a stop)."""
        with self._finished_lock:
            marks = list(self._finished)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if marks:
            self._write(dict.fromkeys(marks, DONE))
        with self._finished_lock:
            for key in marks:
                self._finished.pop(key, None)

    def _mark_finished(self, key: str) -> None:
        with self._finished_lock:
            self._finished[key] = None
            full = len(self._finished) >= FINISHED_BATCH
            if self._timer is None and not full:
                self._timer = threading.Timer(FINISHED_WRITE_SECONDS, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.flush()

    def _write(self, values: dict[str, object]) -> None:
        try:
            with self._cache.transact():
                for key, value in values.items():
                    self._cache.set(key, value, expire=RETENTION_SECONDS)
        except Exception as exc:
            self._complain("written", exc)

    def _complain(self, what: str, exc: Exception) -> None:
        if time.monotonic() - self._complained_at >= COMPLAIN_SECONDS:
            self._complained_at = time.monotonic()
            log.error("The delivery state cannot be %s (%s): objects may be collected again after a restart", what, exc)

    def close(self) -> None:
        self.flush()
        self._cache.close()


def _resume_at(value: object, fingerprint: str, identity: ObjectIdentity) -> int:
    """The position a stored checkpoint lets the object resume at: 0 unless it was counted under `fingerprint`."""
    if not isinstance(value, tuple) or len(value) != 2 or not isinstance(value[0], int) or value[0] <= 0:
        return 0
    position: int = value[0]
    if value[1] != fingerprint:
        log.info(
            "Starting s3://%s/%s over: %d record(s) of it were delivered under another service, file_format, "
            "encoding, charset or bound, which may split it into other records",
            identity.bucket,
            identity.key,
            position,
        )
        return 0
    return position


@dataclass(eq=False)
class Checkpoint:
    """The prefix of one object's record sequence that needs nothing more (each record delivered, filtered out
    or malformed), advanced by acknowledgements arriving in any order."""

    state: DeliveryState
    key: str
    fingerprint: str  # of what shaped the record sequence the positions count (see `sequence_fingerprint`)
    acked_until: int  # positions [0, acked_until) need nothing more
    total: int | None = None  # the sequence's length, set when the whole object was read
    _ranges: dict[int, int] = field(default_factory=dict)  # settled [start, end) beyond the prefix
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _written: int = field(init=False, default=0)  # the prefix last written (or read at the start)

    def __post_init__(self) -> None:
        self._written = self.acked_until

    @property
    def resume_at(self) -> int:
        return self.acked_until

    def acknowledged(self, start: int, end: int) -> None:
        """Positions [start, end) need nothing more: delivered, or filtered out and malformed. The prefix then
        grows over every settled range it reaches."""
        with self._lock:
            self._ranges[start] = max(end, self._ranges.get(start, end))
            before = self.acked_until
            while reached := [begin for begin in self._ranges if begin <= self.acked_until]:
                for begin in reached:
                    self.acked_until = max(self.acked_until, self._ranges.pop(begin))
            if self.acked_until != before:
                self._persist()

    def finished(self, total: int) -> None:
        with self._lock:
            self.total = total
            self._persist()

    @property
    def done(self) -> bool:
        return self.total is not None and self.acked_until >= self.total

    def _persist(self) -> None:
        """Write where the object stands, unless nothing new is to be said: a small object's checkpoint is written
        once, when its one batch is acknowledged, not also at its end (each write waits for the state's lock)."""
        if not self.done and self.acked_until == self._written:
            return
        self._written = self.acked_until
        self.state.record(self.key, DONE if self.done else (self.acked_until, self.fingerprint))
