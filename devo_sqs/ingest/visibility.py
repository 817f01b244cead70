"""Keep every message in hand invisible until it is settled: extend each at half its visibility timeout, so another
collector sharing the queue does not take it meanwhile - those received and still waiting for a puller included.
A message leaves the tracker when it is settled, and extending stops with it."""

from __future__ import annotations

import logging
import time

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.config.models import SqsInput
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight, MessageTracker
from devo_sqs.lifecycle import Worker

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0
SQS_BATCH_LIMIT = 10


class VisibilityKeeper(Worker):
    def __init__(self, spec: SqsInput, setup: AwsSetup, tracker: MessageTracker, *, name: str) -> None:
        super().__init__(name)
        self.spec = spec
        self.setup = setup
        self.tracker = tracker
        self.extensions = 0

    def work(self) -> None:
        timeout = self.spec.sqs_visibility_timeout
        while not self.sleep(CHECK_SECONDS):
            now = time.monotonic()
            due = [m for m in self.tracker.in_hand() if m.visible_until - now <= timeout / 2]
            for start in range(0, len(due), SQS_BATCH_LIMIT):
                self._extend(due[start : start + SQS_BATCH_LIMIT], timeout)

    def _extend(self, messages: list[InFlight], timeout: int) -> None:
        entries = [
            {"Id": str(index), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": timeout}
            for index, m in enumerate(messages)
        ]
        extended_at = time.monotonic()
        try:
            response = self.setup.sqs.change_message_visibility_batch(QueueUrl=self.spec.base_url, Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            log.warning("Extending the visibility of %d message(s) failed: %s", len(messages), exc)
            return
        failed = {int(item["Id"]) for item in response.get("Failed", [])}
        for index, inflight in enumerate(messages):
            if index in failed:
                log.warning("Could not extend the visibility of message %s", inflight.message_id)
                continue
            inflight.visible_until = extended_at + timeout
            self.extensions += 1
            log.info("Message %s still in progress: kept invisible for %d s more", inflight.message_id, timeout)
