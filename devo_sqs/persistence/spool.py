"""Emergency persistence: batches an output could not take, kept on disk in order until it recovers.

One spool per (sender manager, output), a diskcache store in the state directory, shared by that output's delivery
threads and by the next run. Every batch is committed with a full sync before it counts as safe. Bounded by
`max_bytes`: a full spool refuses new batches (collection then waits on the output instead of losing anything).
A spooled batch leaves the spool only once the output acknowledged it again.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import diskcache

from devo_sqs.errors import DecodeError
from devo_sqs.messages import Batch, decode_batch, encode_batch

log = logging.getLogger(__name__)

SQLITE_FULL_SYNC = 2


class SpoolFull(Exception):
    """The spool reached its size bound."""


class Spool:
    def __init__(self, directory: Path, *, max_bytes: int, label: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.label = label
        self.max_bytes = max_bytes
        self._cache = diskcache.Cache(
            str(directory),
            size_limit=2**62,
            eviction_policy="none",
            sqlite_synchronous=SQLITE_FULL_SYNC,
            disk_min_file_size=2**40,  # values live in the database, committed with a full sync
        )
        self._lock = threading.Lock()
        self._claimed: set[int] = set()  # keys being sent again by some delivery thread

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def size_bytes(self) -> int:
        return int(self._cache.volume())

    def push(self, batch: Batch) -> None:
        """Append `batch`; raises SpoolFull at the bound, and whatever the disk raises when it cannot be written."""
        if self.size_bytes >= self.max_bytes:
            raise SpoolFull(f"{self.label}: emergency persistence full ({self.size_bytes} of {self.max_bytes} bytes)")
        self._cache.push(encode_batch(batch))

    def claim_oldest(self) -> tuple[int, Batch] | None:
        """The oldest batch no delivery thread is sending yet, claimed for the caller until `remove` or `unclaim`."""
        with self._lock:
            for key in self._cache.iterkeys():
                if key in self._claimed:
                    continue
                payload = self._cache.get(key)
                if payload is None:
                    continue
                try:
                    batch = decode_batch(payload)
                except DecodeError as exc:
                    log.error("%s: dropped an unreadable spooled batch: %s", self.label, exc)
                    self._cache.delete(key)
                    continue
                self._claimed.add(key)
                return key, batch
        return None

    def unclaim(self, key: int) -> None:
        with self._lock:
            self._claimed.discard(key)

    def remove(self, key: int) -> None:
        """The batch was delivered again: it leaves the spool."""
        with self._lock:
            self._cache.delete(key)
            self._claimed.discard(key)

    def close(self) -> None:
        self._cache.close()
