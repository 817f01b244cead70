"""The receiver thread: long-polls SQS while the pullers have room, and registers every message it receives, so
each one is kept invisible from its receive until it is settled, the ones still waiting for a puller included."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.backoff import Backoff
from devo_sqs.config.models import SqsInput
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
        limits: Callable[[], tuple[int, int]],
        paused: Callable[[], bool],
        release_now: Callable[[list[InFlight]], None],
        name: str,
    ) -> None:
        super().__init__(name)
        self.spec = spec
        self.setup = setup
        self.tracker = tracker
        self.counters = counters
        self._work = work
        self._limits = limits  # (messages in hand for the pullers, messages per receive), at most
        self._paused = paused  # True while nothing received could be delivered (the output process is gone)
        self._release_now = release_now

    def work(self) -> None:
        if not self.setup.ready.is_set():
            log.warning("Waiting until setup will be executed")
            while not self.setup.ready.wait(ROOM_WAIT_SECONDS):
                if self.stopping:
                    return
        log.info("Starting data collection every %d seconds", self.spec.sqs_wait_timeout)
        backoff = Backoff(first_seconds=1.0, max_seconds=60.0)
        while not self.stopping:
            in_hand, per_receive = self._limits()
            room = self.tracker.wait_for_room(in_hand, ROOM_WAIT_SECONDS)
            if not room or self._paused():
                continue
            try:
                messages = self._receive(min(room, per_receive))
            except (BotoCoreError, ClientError) as exc:
                delay = backoff.next_delay()
                log.error("Receiving from %s failed: %s; retrying in %.0f second(s)", self.spec.base_url, exc, delay)
                self.sleep(delay)
                continue
            backoff.reset()
            received = [self.tracker.receive(m, visibility_seconds=self.spec.sqs_visibility_timeout) for m in messages]
            if self.stopping:  # received during the last long poll of a stop: back to the queue at once
                self._release_now(received)
                return
            for inflight in received:
                self._work.put(inflight)

    def _receive(self, count: int) -> list[dict[str, Any]]:
        response = self.setup.sqs.receive_message(
            QueueUrl=self.spec.base_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=self.spec.sqs_wait_timeout,
            VisibilityTimeout=self.spec.sqs_visibility_timeout,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        self.counters.add(messages_received=len(messages), receives=1, receives_full=int(len(messages) == count))
        if messages:
            sent_ms = max(int(m.get("Attributes", {}).get("SentTimestamp", 0)) for m in messages)
            self.counters.set_message_age(time.time() - sent_ms / 1000 if sent_ms else 0.0)
        else:  # nothing was waiting: no lag (else the age of the last message received would stay forever)
            self.counters.set_message_age(0.0)
        return messages
