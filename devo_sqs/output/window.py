"""The replay window of a plain TCP/TLS connection: batches the peer's TCP acknowledged, kept a little longer.

TCP's acknowledgement says the bytes reached the receiver's kernel, not its process: what the receiver had not read
when it crashed is lost with it. So acknowledged batches stay here while they are recent (`seconds`) and while the
window holds at most `max_bytes`; after an abnormal close they are sent again on the next connection, before
anything new. Duplicates over loss. They were settled already; sending them again settles nothing.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

from devo_sqs.messages import Batch


@dataclass(slots=True)
class Kept:
    batch: Batch
    size: int
    at: float


class ReplayWindow:
    def __init__(self, *, max_bytes: int, seconds: float) -> None:
        self.max_bytes = max_bytes
        self.seconds = seconds
        self._kept: collections.deque[Kept] = collections.deque()
        self.size_bytes = 0

    def keep(self, batch: Batch, size: int) -> None:
        if self.max_bytes <= 0 or self.seconds <= 0:
            return
        self._kept.append(Kept(batch, size, time.monotonic()))
        self.size_bytes += size
        self.trim()

    def trim(self) -> None:
        """Forget what is older than `seconds`, and the oldest beyond `max_bytes`."""
        horizon = time.monotonic() - self.seconds
        while self._kept and (self._kept[0].at < horizon or self.size_bytes > self.max_bytes):
            self.size_bytes -= self._kept.popleft().size

    def take(self) -> list[Batch]:
        """Everything still in the window, oldest first; the window is then empty."""
        self.trim()
        taken = [kept.batch for kept in self._kept]
        self._kept.clear()
        self.size_bytes = 0
        return taken

    def clear(self) -> None:
        self._kept.clear()
        self.size_bytes = 0

    def __len__(self) -> int:
        return len(self._kept)
