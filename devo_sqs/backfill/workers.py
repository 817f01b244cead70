"""A few threads that walk the listing tree together: several prefixes are listed in parallel, deepest node
first, so the nodes waiting stay few (the siblings on the current paths) however wide the bucket is."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class WalkThreads(Generic[T]):
    """`handle(node)` returns the nodes found below it. The first exception stops the walk (kept in `error`)."""

    def __init__(self, roots: Iterable[T], *, handle: Callable[[T], Iterable[T]], threads: int) -> None:
        self._stack = list(reversed(list(roots)))
        self._handle = handle
        self._busy = 0
        self._condition = threading.Condition()
        self._stopped = False
        self.error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._work, name=f"BackfillLister-{n}", daemon=True) for n in range(threads)
        ]

    def start(self) -> WalkThreads[T]:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()

    def join(self, timeout: float | None) -> bool:
        """True when every thread ended within `timeout` seconds (together; None: however long it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    @property
    def finished(self) -> bool:
        """Every node handled (and no error)."""
        with self._condition:
            return not self._stack and not self._busy and self.error is None

    def _work(self) -> None:
        while (node := self._next()) is not None:
            try:
                found = list(self._handle(node))
            except BaseException as exc:  # kept for the caller, which reports it
                self._fail(exc)
                return
            with self._condition:
                self._stack.extend(reversed(found))
                self._busy -= 1
                self._condition.notify_all()

    def _next(self) -> T | None:
        with self._condition:
            while not self._stopped and not self._stack and self._busy:
                self._condition.wait()
            if self._stopped or not self._stack:
                self._condition.notify_all()
                return None
            self._busy += 1
            return self._stack.pop()

    def _fail(self, exc: BaseException) -> None:
        with self._condition:
            if self.error is None:
                self.error = exc
            self._busy -= 1
            self._stopped = True
            self._condition.notify_all()
