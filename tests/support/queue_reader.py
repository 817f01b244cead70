"""Reads a moto queue from inside the process that hosts the moto server, as fast as messages arrive.

moto computes the queue's attributes over every message it holds on each SendMessage, so a queue thousands deep
makes each send slower than the last; and reading it back through HTTP, one receive and one delete per ten
messages, cannot keep up on a loaded machine. This reader takes each message off the queue through moto's own
backend (the code its HTTP handlers run), so the queue stays shallow and every body is kept, in arrival order.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.sqs.models import sqs_backends

from devo_sqs.demo.local_aws import ACCOUNT_ID, REGION


class QueueReader:
    def __init__(self, queue_url: str) -> None:
        self._queue = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self._backend: Any = sqs_backends[ACCOUNT_ID][REGION]
        self._bodies: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"QueueReader({self._queue})", daemon=True)

    def __enter__(self) -> QueueReader:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)

    @property
    def bodies(self) -> list[str]:
        with self._lock:
            return list(self._bodies)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._bodies)

    def caught_up(self) -> bool:
        """Nothing left in the queue, visible or not."""
        queue = self._backend.get_queue(self._queue)
        return not queue._messages

    def _read(self) -> None:
        while not self._stop.is_set():
            messages = self._backend.receive_message(self._queue, 10, 0, 600)
            for message in messages:
                self._backend.delete_message(self._queue, message.receipt_handle)
            with self._lock:
                self._bodies.extend(message.body for message in messages)
            if not messages:
                self._stop.wait(0.02)
