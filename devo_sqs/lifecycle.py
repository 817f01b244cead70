"""One lifecycle for every thread: `start()`, `stop()` (sets a flag, never blocks), `join(timeout)`.

`work()` holds the loop. An unexpected exception is logged with its traceback and the loop restarts after
`restart_delay_seconds`, so one failure never ends a long-running thread; every restart is recorded, so that health
can tell a thread that keeps failing from one that failed once.
"""

from __future__ import annotations

import abc
import collections
import logging
import threading
import time

log = logging.getLogger(__name__)

RESTART_WINDOW_SECONDS = 300.0


class RestartLog:
    """When each thread of this process restarted, over the last `RESTART_WINDOW_SECONDS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, collections.deque[float]] = {}
        self.total = 0

    def record(self, name: str) -> None:
        with self._lock:
            self._times.setdefault(name, collections.deque()).append(time.monotonic())
            self.total += 1

    def recent(self) -> dict[str, int]:
        """Restarts per thread name within the window (threads without any are left out)."""
        horizon = time.monotonic() - RESTART_WINDOW_SECONDS
        with self._lock:
            for times in self._times.values():
                while times and times[0] < horizon:
                    times.popleft()
            return {name: len(times) for name, times in self._times.items() if times}


RESTARTS = RestartLog()


class Worker(threading.Thread, abc.ABC):
    restart_delay_seconds = 5.0

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._stop_requested = threading.Event()

    def stop(self) -> None:
        self._stop_requested.set()

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    def sleep(self, seconds: float) -> bool:
        """Wait up to `seconds`; True when woken early by stop()."""
        return self._stop_requested.wait(seconds)

    def run(self) -> None:
        while True:
            try:
                self.work()
                break
            except Exception:
                log.exception("Unexpected error; restarting in %.0f second(s)", self.restart_delay_seconds)
                RESTARTS.record(self.name)
                self.recover()
                if self.sleep(self.restart_delay_seconds):
                    break
        self.close()

    @abc.abstractmethod
    def work(self) -> None:
        """The thread's loop; return when `stopping` (or when its job is done)."""

    def recover(self) -> None:
        """Settle what `work` held when it failed (before the loop restarts)."""

    def close(self) -> None:
        """Release what `work` held; runs once, after the loop ends."""
