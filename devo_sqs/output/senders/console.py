"""The console output: frames written to standard output, as they would go on the wire. A batch is acknowledged
once written and flushed."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import BinaryIO

from devo_sqs.messages import TagGroup
from devo_sqs.output.framing import Framer


class ConsoleSender:
    description = "console"
    replays = False

    def __init__(self, framer: Framer, stream: BinaryIO | None = None) -> None:
        self._framer = framer
        self._stream = stream or sys.stdout.buffer
        self._marks = 0

    @property
    def is_open(self) -> bool:
        return True

    def send(self, groups: Sequence[TagGroup], *, timestamp: bytes) -> int:
        for tag, messages in groups:
            self._stream.write(self._framer.frame_run(tag, messages, timestamp=timestamp))
        self._stream.flush()
        self._marks += 1
        return self._marks

    def acknowledged(self) -> int:
        return self._marks

    def close(self) -> None:
        self._stream.flush()
