"""The setup thread: AWS session and clients from the configured credentials, and a check of the queue.
Pullers wait for it; it retries with backoff until AWS answers."""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.backoff import Backoff
from devo_sqs.config.models import SqsInput
from devo_sqs.ingest.aws import client, make_session
from devo_sqs.lifecycle import Worker

log = logging.getLogger(__name__)

QUEUE_CHECK_SECONDS = 600.0


class AwsSetup(Worker):
    def __init__(self, spec: SqsInput, *, name: str) -> None:
        super().__init__(name)
        self.spec = spec
        self.ready = threading.Event()
        self.sqs: Any = None
        self.s3: Any = None
        self.has_redrive_policy = False

    def work(self) -> None:
        log.info("Starting thread")
        backoff = Backoff(first_seconds=1.0, max_seconds=60.0)
        while not self.stopping and not self.ready.is_set():
            try:
                self._connect()
            except (BotoCoreError, ClientError) as exc:
                delay = backoff.next_delay()
                log.error("Setup failed: %s; retrying in %.0f second(s)", exc, delay)
                self.sleep(delay)
        while not self.sleep(QUEUE_CHECK_SECONDS):
            self._log_queue_state()

    def _connect(self) -> None:
        session = make_session(self.spec)
        sqs, s3 = client(session, "sqs", self.spec), client(session, "s3", self.spec)
        attributes = sqs.get_queue_attributes(QueueUrl=self.spec.base_url, AttributeNames=["All"])["Attributes"]
        self.sqs, self.s3 = sqs, s3
        self.has_redrive_policy = "RedrivePolicy" in attributes
        log.info(
            "Queue %s reachable: %s message(s) visible, %s in flight, visibility timeout %ss (collector uses %ss), %s",
            self.spec.base_url,
            attributes.get("ApproximateNumberOfMessages", "?"),
            attributes.get("ApproximateNumberOfMessagesNotVisible", "?"),
            attributes.get("VisibilityTimeout", "?"),
            self.spec.sqs_visibility_timeout,
            "with a dead-letter queue" if self.has_redrive_policy else "without a dead-letter queue",
        )
        self.ready.set()

    def _log_queue_state(self) -> None:
        try:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.spec.base_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            log.info(
                "Queue depth: %s visible, %s in flight",
                attributes["ApproximateNumberOfMessages"],
                attributes["ApproximateNumberOfMessagesNotVisible"],
            )
        except (BotoCoreError, ClientError) as exc:
            log.warning("Queue check failed: %s", exc)
