"""One lifecycle for every thread: `start()`, `stop()` (sets a flag, never blocks), `join(timeout)`.

`work()` holds the loop. An unexpected exception is logged with its traceback and the loop restarts after
`restart_delay_seconds`, so one failure never ends a long-running thread.
"""

from __future__ import annotations

import abc
import logging
import threading

log = logging.getLogger(__name__)


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
                if self.sleep(self.restart_delay_seconds):
                    break
        self.close()

    @abc.abstractmethod
    def work(self) -> None:
        """The thread's loop; return when `stopping` (or when its job is done)."""

    def close(self) -> None:
        """Release what `work` held; runs once, after the loop ends."""
