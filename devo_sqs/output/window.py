"""The replay window of a plain TCP/TLS connection: batches the peer's TCP acknowledged, kept a little longer.

TCP's acknowledgement says the bytes reached the receiver's kernel, not its process: what the receiver had not read
when it crashed is lost with it. So acknowledged batches stay here while they are recent (`seconds`) and while they
hold the last `max_bytes` of the stream as it went on the wire (framed and compressed: what fills the receiver's
buffers); after an abnormal close they are sent again on the next connection, before anything new. Duplicates over
loss. They were settled already; sending them again settles nothing.

Under gzip (`compact`) the stream carries several times more records than its bytes, so the batches are kept
encoded and compressed: the window's memory stays near `max_bytes` whether or not the output compresses.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass

from isal import isal_zlib

from devo_sqs.messages import Batch, decode_batch, encode_batch

COMPACT_LEVEL = 1  # fast: the sender's own compression of the same bytes costs several times more


@dataclass(slots=True)
class Kept:
    batch: Batch | bytes  # bytes: encoded and compressed (a compact window)
    size: int  # bytes on the wire
    at: float


class ReplayWindow:
    def __init__(
        self, *, max_bytes: int, seconds: float, compact: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self.seconds = seconds
        self.compact = compact
        self._clock = clock
        self._kept: collections.deque[Kept] = collections.deque()
        self.size_bytes = 0

    def keep(self, batch: Batch, size: int) -> None:
        if self.max_bytes <= 0 or self.seconds <= 0:
            return
        stored = isal_zlib.compress(encode_batch(batch), COMPACT_LEVEL) if self.compact else batch
        self._kept.append(Kept(stored, size, self._clock()))
        self.size_bytes += size
        self.trim()

    def trim(self) -> None:
        """Forget what is older than `seconds`, and the oldest batches the newest `max_bytes` do not reach: the
        window always covers the last `max_bytes` of the stream (so it holds at most one batch more)."""
        horizon = self._clock() - self.seconds
        while self._kept and (self._kept[0].at < horizon or self.size_bytes - self._kept[0].size >= self.max_bytes):
            self.size_bytes -= self._kept.popleft().size

    def take(self) -> list[Batch]:
        """Everything still in the window, oldest first; the window is then empty."""
        self.trim()
        taken = [_restored(kept.batch) for kept in self._kept]
        self._kept.clear()
        self.size_bytes = 0
        return taken

    def clear(self) -> None:
        self._kept.clear()
        self.size_bytes = 0

    def __len__(self) -> int:
        return len(self._kept)


def _restored(stored: Batch | bytes) -> Batch:
    return decode_batch(isal_zlib.decompress(stored)) if isinstance(stored, bytes) else stored
