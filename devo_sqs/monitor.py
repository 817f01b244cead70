"""GC / memory monitor: every `gc_period_in_sec`, collect garbage and log memory before and after.

[GC] global: 20.4% -> 20.4%, process: RSS(34.50MiB -> 34.08MiB), VMS(410.52MiB -> 410.02MiB)
"""

from __future__ import annotations

import gc
import logging

import psutil

from devo_sqs.lifecycle import Worker

log = logging.getLogger(__name__)
UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(count: float) -> str:
    for unit in UNITS:
        if count < 1024 or unit == UNITS[-1]:
            return f"{count:.2f}{unit}"
        count /= 1024
    raise AssertionError("unreachable")


def gc_line() -> str:
    """Run a full collection and describe memory before and after it."""
    process = psutil.Process()
    before, global_before = process.memory_info(), psutil.virtual_memory().percent
    gc.collect()
    after, global_after = process.memory_info(), psutil.virtual_memory().percent
    return (
        f"[GC] global: {global_before:.1f}% -> {global_after:.1f}%, process: "
        f"RSS({human_bytes(before.rss)} -> {human_bytes(after.rss)}), "
        f"VMS({human_bytes(before.vms)} -> {human_bytes(after.vms)})"
    )


class MemoryMonitor(Worker):
    def __init__(self, *, period_seconds: float) -> None:
        super().__init__("MemoryMonitor")
        self.period_seconds = period_seconds

    def work(self) -> None:
        while not self.sleep(self.period_seconds):
            log.info("%s", gc_line())
