"""A queue that times each item's wait, from `put` to `get`, for the sender managers' queue statistics."""

from __future__ import annotations

import queue
import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TimedQueue(queue.Queue[T]):
    """`queue.Queue` that tells `on_wait(seconds)` how long each item it hands out waited in it.

    The timestamps live beside the items (the same `put`/`get` hooks `queue.PriorityQueue` overrides), so nothing
    is kept for an item once it leaves, whichever consumer takes it.
    """

    def __init__(self, maxsize: int = 0, *, on_wait: Callable[[float], None]) -> None:
        self._on_wait = on_wait
        self._put_at: deque[float] = deque()
        super().__init__(maxsize)

    def _put(self, item: T) -> None:
        self._put_at.append(time.monotonic())
        super()._put(item)

    def _get(self) -> T:
        self._on_wait(time.monotonic() - self._put_at.popleft())
        return super()._get()
