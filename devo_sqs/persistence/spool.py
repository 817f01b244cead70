"""Emergency persistence: batches an output could not take, kept on disk in order until it recovers.

One spool per (sender manager, output), a diskcache queue in the state directory; shared by that output's
delivery threads and by the next run. Bounded by `max_bytes`: a full spool refuses new batches (collection then
waits on the output instead of losing anything).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import diskcache

from devo_sqs.errors import DecodeError
from devo_sqs.messages import Batch, decode_batch, encode_batch

log = logging.getLogger(__name__)


class SpoolFull(Exception):
    """The spool reached its size bound."""


class Spool:
    def __init__(self, directory: Path, *, max_bytes: int, label: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.label = label
        self.max_bytes = max_bytes
        self._cache = diskcache.Cache(str(directory), size_limit=2**62, eviction_policy="none")
        self.lock = threading.Lock()  # one replayer at a time, so a batch is not sent twice from here

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def size_bytes(self) -> int:
        return int(self._cache.volume())

    def push(self, batch: Batch) -> None:
        if self.size_bytes >= self.max_bytes:
            raise SpoolFull(f"{self.label}: emergency persistence full ({self.size_bytes} of {self.max_bytes} bytes)")
        self._cache.push(encode_batch(batch))

    def peek(self) -> Batch | None:
        """The oldest batch, left in place until `drop_oldest`."""
        while True:
            key, payload = self._cache.peek(default=(None, None))
            if key is None:
                return None
            try:
                return decode_batch(payload)
            except DecodeError as exc:
                log.error("%s: dropped an unreadable spooled batch: %s", self.label, exc)
                self._cache.pull()

    def drop_oldest(self) -> None:
        self._cache.pull()

    def close(self) -> None:
        self._cache.close()
