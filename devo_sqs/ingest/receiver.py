"""The receiver threads: long-poll SQS while the pullers have room, and register every message received, so each
one is kept invisible from its receive until it is settled, the ones still waiting for a puller included.

Several of them (concurrency.RECEIVES_AT_ONCE), so that more receives are under way while one's round trip lasts:
at a region's latency one thread's receives, ten messages each, would cap the collector near 250 small objects a
second, and a busy process takes two or three times as long to read each answer. Each reserves its room before it
asks (tracker.reserve), so together they never hold more than the limits allow."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.backoff import Backoff
from devo_sqs.config.models import SqsInput
from devo_sqs.ingest.concurrency import Limits
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight, MessageTracker
from devo_sqs.lifecycle import Worker

log = logging.getLogger(__name__)

ROOM_WAIT_SECONDS = 0.5


class Receiver(Worker):
    def __init__(
        self,
        *,
        spec: SqsInput,
        setup: AwsSetup,
        tracker: MessageTracker,
        counters: InputCounters,
        work: queue.Queue[InFlight],
        limits: Callable[[], Limits],
        paused: Callable[[], bool],
        release_now: Callable[[list[InFlight]], None],
        name: str,
        first: bool = True,
    ) -> None:
        super().__init__(name)
        self.spec = spec
        self.setup = setup
        self.tracker = tracker
        self.counters = counters
        self._work = work
        self._limits = limits
        self._paused = paused  # True while nothing received could be delivered (the output process is gone)
        self._release_now = release_now
        self._first = first  # the one that says when collection starts

    def work(self) -> None:
        if not self.setup.ready.is_set():
            if self._first:
                log.warning("Waiting until setup will be executed")
            while not self.setup.ready.wait(ROOM_WAIT_SECONDS):
                if self.stopping:
                    return
        if self._first:
            log.info("Starting data collection every %d seconds", self.spec.sqs_wait_timeout)
        backoff = Backoff(first_seconds=1.0, max_seconds=60.0)
        while not self.stopping:
            if self._paused():
                self.sleep(ROOM_WAIT_SECONDS)
                continue
            limits = self._limits()
            room = self.tracker.reserve(limits.in_hand, limits.per_receive, ROOM_WAIT_SECONDS)
            if not room:
                continue
            failure: BotoCoreError | ClientError | None = None
            try:
                received = self._receive(room)
            except (BotoCoreError, ClientError) as exc:
                received, failure = [], exc
            finally:
                self.tracker.unreserve(room)
            if failure is not None:
                delay = backoff.next_delay()
                log.error(
                    "Receiving from %s failed: %s; retrying in %.0f second(s)", self.spec.base_url, failure, delay
                )
                self.sleep(delay)
                continue
            backoff.reset()
            if self.stopping:  # received during the last long poll of a stop: back to the queue at once
                self._release_now(received)
                return
            for inflight in received:
                self._work.put(inflight)

    def _receive(self, count: int) -> list[InFlight]:
        """Ask for `count` messages, count what came, and register each (its room is still reserved)."""
        started = time.monotonic()
        response = self.setup.sqs.receive_message(
            QueueUrl=self.spec.base_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=self.spec.sqs_wait_timeout,
            VisibilityTimeout=self.spec.sqs_visibility_timeout,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        full = len(messages) == count
        self.counters.add(
            messages_received=len(messages),
            receives=1,
            receives_full=int(full),
            receives_empty=int(not messages),
            receive_seconds=time.monotonic() - started if full else 0.0,
        )
        if messages:
            sent_ms = max(int(m.get("Attributes", {}).get("SentTimestamp", 0)) for m in messages)
            self.counters.set_message_age(time.time() - sent_ms / 1000 if sent_ms else 0.0)
        else:  # nothing was waiting: no lag (else the age of the last message received would stay forever)
            self.counters.set_message_age(0.0)
        visibility = self.spec.sqs_visibility_timeout
        return [self.tracker.receive(m, visibility_seconds=visibility) for m in messages]
