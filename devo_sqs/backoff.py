"""Capped exponential backoff with jitter, reset on success."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, *, first_seconds: float = 0.5, max_seconds: float = 30.0) -> None:
        self.first_seconds = first_seconds
        self.max_seconds = max_seconds
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; each failure doubles it, up to the cap."""
        self.failures += 1
        delay = min(self.max_seconds, self.first_seconds * 2 ** (self.failures - 1))
        return float(delay) * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self.failures = 0
