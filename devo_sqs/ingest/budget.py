"""The byte budget of batches in flight: handed to the output process and not yet settled.

It bounds the memory both processes spend on records on their way out (the hand-over queue, the pipe, the sender
channels, batches written but not yet acknowledged) by bytes rather than by a count, so many small objects can be
in flight at once and a few large batches cannot blow the bound. One batch larger than the whole budget still
passes when nothing else is in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ByteBudget:
    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.used_bytes = 0
        self.waits = 0  # acquisitions that found no room at once: the output does not keep up
        self._changed = threading.Condition()

    def acquire(self, size: int, *, timeout: float, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Take `size` bytes, waiting up to `timeout` for room; False on timeout or when `cancelled()`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if self.used_bytes and self.used_bytes + size > self.limit_bytes:
                self.waits += 1
            while self.used_bytes and self.used_bytes + size > self.limit_bytes:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or cancelled():
                    return False
                self._changed.wait(min(remaining, 0.2))
            self.used_bytes += size
            return True

    def release(self, size: int) -> None:
        with self._changed:
            self.used_bytes = max(0, self.used_bytes - size)
            self._changed.notify_all()

    @property
    def exhausted(self) -> bool:
        """At or over the limit: the output is not keeping up with what is handed over."""
        return self.used_bytes >= self.limit_bytes
