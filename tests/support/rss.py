"""Peak RSS of every process of a tree (a command and all its descendants), sampled with psutil."""

from __future__ import annotations

import threading

import psutil

SAMPLE_SECONDS = 0.02


class PeakRss:
    """Polls the RSS of the process `pid` and its descendants until stopped; `peaks` by "name(pid)"."""

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self.peaks: dict[str, int] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="PeakRss", daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._thread.join(10)

    @property
    def largest(self) -> int:
        return max(self.peaks.values(), default=0)

    def summary(self) -> str:
        return ", ".join(f"{name} {peak / 2**20:.0f} MiB" for name, peak in sorted(self.peaks.items()))

    def _poll(self) -> None:
        while not self._stopping.is_set():
            self._sample()
            self._stopping.wait(SAMPLE_SECONDS)

    def _sample(self) -> None:
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return  # the root ended
        for process in processes:
            try:
                name = f"{process.name()}({process.pid})"
                self.peaks[name] = max(self.peaks.get(name, 0), process.memory_info().rss)
            except psutil.Error:
                continue  # it ended between listing and reading
