"""Delete completed messages from SQS, up to ten per call."""

from __future__ import annotations

import logging
import queue

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.config.models import SqsInput
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight
from devo_sqs.lifecycle import Worker

log = logging.getLogger(__name__)

SQS_BATCH_LIMIT = 10


class Deleter(Worker):
    def __init__(self, spec: SqsInput, setup: AwsSetup, counters: InputCounters, *, name: str) -> None:
        super().__init__(name)
        self.spec = spec
        self.setup = setup
        self.counters = counters
        self.completed: queue.Queue[InFlight] = queue.Queue()

    def enqueue(self, inflight: InFlight) -> None:
        self.completed.put(inflight)

    def work(self) -> None:
        while True:
            try:
                first = self.completed.get(timeout=0.2)
            except queue.Empty:
                if self.stopping:
                    return
                continue
            batch = [first]
            while len(batch) < SQS_BATCH_LIMIT:
                try:
                    batch.append(self.completed.get_nowait())
                except queue.Empty:
                    break
            self._delete_batch(batch)

    def _delete_batch(self, batch: list[InFlight]) -> None:
        if not self.spec.ack_messages:
            log.debug("ack_messages is false: %d completed message(s) left in the queue", len(batch))
            return
        entries = [{"Id": str(index), "ReceiptHandle": m.receipt_handle} for index, m in enumerate(batch)]
        try:
            response = self.setup.sqs.delete_message_batch(QueueUrl=self.spec.base_url, Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            log.error("Deleting %d message(s) failed: %s; they will be received again", len(batch), exc)
            return
        failed = {int(item["Id"]): item.get("Message", item.get("Code", "")) for item in response.get("Failed", [])}
        for index, inflight in enumerate(batch):
            if index in failed:
                log.warning("Could not delete message %s: %s", inflight.message_id, failed[index])
            else:
                log.debug("Acked message receiptHandle: %s", inflight.receipt_handle)
        self.counters.add(messages_deleted=len(batch) - len(failed))
