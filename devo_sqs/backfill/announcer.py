"""The sending side of a backfill: objects in listing order, ten to a SendMessageBatch, at the allowed rate; after
each batch SQS accepted, the checkpoint moves every unit in it past its last key. A unit whose end has passed is
marked complete with the batch that carries its last objects, so a stop never marks a unit with objects unsent."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from devo_sqs.backfill.checkpoint import Checkpoint
from devo_sqs.backfill.lister import Selected, UnitEnd
from devo_sqs.backfill.notification import s3_event
from devo_sqs.backfill.report import Tally
from devo_sqs.backfill.sending import BATCH_SIZE, BatchSender, RateLimiter

POLL_SECONDS = 0.1
PARTIAL_BATCH_SECONDS = 1.0  # a batch of fewer than ten waits this long for more objects while the listing goes on


class Announcer:
    def __init__(
        self,
        items: queue.Queue[Selected | UnitEnd],
        *,
        bucket: str,
        region: str,
        sender: BatchSender,
        limiter: RateLimiter,
        checkpoint: Checkpoint,
        tally: Tally,
        listing_finished: Callable[[], bool],
        tick: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        self._items = items
        self._bucket = bucket
        self._region = region
        self._sender = sender
        self._limiter = limiter
        self._checkpoint = checkpoint
        self._tally = tally
        self._listing_finished = listing_finished
        self._tick = tick
        self._stop = stop
        self._batch: list[Selected] = []
        self._batch_started = 0.0  # when the batch's first object arrived
        self._ended: list[str] = []

    def run(self) -> bool:
        """Send until the listing is finished and everything listed is sent (True), or until stopped (False)."""
        while not self._stop.is_set():
            try:
                item = self._items.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if self._idle():
                    return True
                continue
            if isinstance(item, UnitEnd):
                self._ended.append(item.unit_id)
            else:
                self._batch_started = self._batch_started if self._batch else time.monotonic()
                self._batch.append(item)
            if len(self._batch) == BATCH_SIZE:
                self._flush()
                self._tick()
        return False

    def _idle(self) -> bool:
        """Nothing arrived for a moment: send a partial batch that waited long enough, record completed units;
        True when all is sent and the listing is finished."""
        finished = self._listing_finished() and self._items.empty()
        ready = (finished or self._waited() >= PARTIAL_BATCH_SECONDS) if self._batch else bool(self._ended)
        if ready:
            self._flush()
        self._tick()
        return finished and not self._batch and not self._ended

    def _waited(self) -> float:
        return time.monotonic() - self._batch_started

    def _flush(self) -> None:
        batch, ended = self._batch, self._ended
        if batch:
            delay = self._limiter.delay(len(batch))
            if delay > 0 and self._stop.wait(delay):
                return  # stopping: this batch was not sent, and its units stay where they are
            self._sender.send([s3_event(self._bucket, item.obj, region=self._region) for item in batch])
        positions = {item.unit_id: item.obj.key for item in batch}  # listing order: the last one is the furthest
        self._checkpoint.record(
            positions=positions, done=ended, objects=len(batch), size=sum(item.obj.size for item in batch)
        )
        for item in batch:
            self._tally.sent(item.service, item.obj)
        self._batch, self._ended = [], []
