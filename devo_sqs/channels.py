"""The multiprocessing plumbing between the parent, the InputProcess and the OutputProcess."""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from multiprocessing.context import SpawnContext
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

CONTEXT: SpawnContext = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class Channels:
    batches: Queue[bytes]  # input -> output: msgpack record batches (bounded: the backpressure)
    acks: Queue[bytes]  # output -> input: msgpack acknowledgement lists
    logs: Queue[Any]  # children -> parent: log records
    status: Queue[Any]  # children -> parent: (side, snapshot of their counters) every few seconds and at exit
    stop_input: Event  # parent -> input: stop receiving, drain, exit
    stop_output: Event  # parent -> output: the input is gone; deliver what is queued, exit

    @classmethod
    def create(cls, *, max_batches: int) -> Channels:
        return cls(
            batches=CONTEXT.Queue(maxsize=max_batches),
            acks=CONTEXT.Queue(),
            logs=CONTEXT.Queue(),
            status=CONTEXT.Queue(),
            stop_input=CONTEXT.Event(),
            stop_output=CONTEXT.Event(),
        )
