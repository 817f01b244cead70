"""The console output: frames written to standard output, as they would go on the wire."""

from __future__ import annotations

import sys
from typing import BinaryIO


class ConsoleSender:
    description = "console"

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream or sys.stdout.buffer

    @property
    def is_open(self) -> bool:
        return True

    def write(self, payload: bytes) -> None:
        self._stream.write(payload)
        self._stream.flush()

    def check_alive(self) -> None:
        return None

    def close(self) -> None:
        self._stream.flush()
