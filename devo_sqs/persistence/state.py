"""Delivery state, per input id: which objects were fully delivered, and how many records of an object
interrupted half-way were. A redelivered message then re-sends neither a finished object nor the delivered
prefix of an unfinished one; a crash duplicates at most the batches in flight for an object.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import diskcache

from devo_sqs.ingest.notifications import ObjectRef

log = logging.getLogger(__name__)

RETENTION_SECONDS = 14 * 24 * 3600  # SQS keeps a message at most 14 days
DONE = -1
COMPLAIN_SECONDS = 60.0


def object_id(ref: ObjectRef) -> str:
    """Bucket, key and content identity: an object overwritten with new content counts as new."""
    version = ref.version_id or ref.etag or (str(ref.size) if ref.size is not None else "")
    return f"{ref.bucket}/{ref.key}@{version}"


class DeliveryState:
    """A state that cannot be read or written (a full or read-only volume) costs duplicates, never records: it is
    then taken as empty, and one error line a minute says so."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._cache = diskcache.Cache(str(directory))
        self._complained_at = -COMPLAIN_SECONDS

    def delivered_prefix(self, ref: ObjectRef) -> int | None:
        """Records of the object already delivered; None when the whole object was."""
        try:
            value = self._cache.get(object_id(ref), 0)
        except Exception as exc:
            self._complain("read", exc)
            return 0
        return None if value == DONE else int(value)

    def checkpoint(self, ref: ObjectRef) -> Checkpoint | None:
        """Where the object's delivery stands; None when the whole object was delivered."""
        prefix = self.delivered_prefix(ref)
        return None if prefix is None else Checkpoint(self, object_id(ref), acked_until=prefix)

    def record(self, key: str, value: int) -> None:
        try:
            self._cache.set(key, value, expire=RETENTION_SECONDS)
        except Exception as exc:
            self._complain("written", exc)

    def _complain(self, what: str, exc: Exception) -> None:
        if time.monotonic() - self._complained_at >= COMPLAIN_SECONDS:
            self._complained_at = time.monotonic()
            log.error("The delivery state cannot be %s (%s): objects may be collected again after a restart", what, exc)

    def close(self) -> None:
        self._cache.close()


@dataclass(eq=False)
class Checkpoint:
    """The contiguous delivered prefix of one object, advanced by acknowledgements arriving in any order."""

    state: DeliveryState
    key: str
    acked_until: int  # records [0, acked_until) are delivered
    total: int | None = None  # set when the whole object was read
    _ranges: dict[int, int] = field(default_factory=dict)  # acknowledged [start, end) beyond the prefix
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _written: int = field(init=False, default=0)  # the prefix last written (or read at the start)

    def __post_init__(self) -> None:
        self._written = self.acked_until

    @property
    def resume_at(self) -> int:
        return self.acked_until

    def acknowledged(self, start: int, end: int) -> None:
        with self._lock:
            self._ranges[start] = end
            before = self.acked_until
            while self.acked_until in self._ranges:
                self.acked_until = self._ranges.pop(self.acked_until)
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
        self.state.record(self.key, DONE if self.done else self.acked_until)
