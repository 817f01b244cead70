"""The puller thread: receive messages, read each announced object through its service's pipeline, and
hand record batches to the output process. Deleting is left to the tracker (see `tracker.py`)."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import IO, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.backoff import Backoff
from devo_sqs.config.models import Globals, SqsInput
from devo_sqs.errors import NotificationError, ObjectError, PermanentObjectError
from devo_sqs.ingest.audit import AUDIT_TAG, HashingReader, audit_event
from devo_sqs.ingest.batching import BatchBuilder, Segment
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.ingest.failures import FailurePolicy
from devo_sqs.ingest.notifications import ObjectRef, parse_notification
from devo_sqs.ingest.objects import open_object, stored_size
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight, MessageTracker
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import Batch, encode_batch
from devo_sqs.persistence.state import DeliveryState
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.records import ObjectContext
from devo_sqs.processing.services import ServiceRouter

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """Stop was requested while a message was half done; it is left in SQS."""


@dataclass(frozen=True)
class PullerDeps:
    """What every puller of one input shares."""

    spec: SqsInput
    globals: Globals
    setup: AwsSetup
    router: ServiceRouter
    tracker: MessageTracker
    counters: InputCounters
    put_batch: Callable[[bytes], None]  # blocking put on the inter-process queue; raises queue.Full on timeout
    spool_dir: str  # scratch space for formats that need a seekable copy (parquet)
    state: DeliveryState
    failures: FailurePolicy


class Puller(Worker):
    def __init__(self, deps: PullerDeps, *, name: str) -> None:
        super().__init__(name)
        self.deps = deps
        self.spec = deps.spec
        self._unacknowledged: int | None = None  # the batch handed over last, until it is acknowledged

    def work(self) -> None:
        if not self.deps.setup.ready.is_set():
            log.warning("Waiting until setup will be executed")
            while not self.deps.setup.ready.wait(0.5):
                if self.stopping:
                    return
        log.info("Starting data collection every %d seconds", self.spec.sqs_wait_timeout)
        backoff = Backoff(first_seconds=1.0, max_seconds=60.0)
        while not self.stopping:
            started = time.monotonic()
            try:
                messages = self._receive()
            except (BotoCoreError, ClientError) as exc:
                delay = backoff.next_delay()
                log.error("Receiving from %s failed: %s; retrying in %.0f second(s)", self.spec.base_url, exc, delay)
                self.sleep(delay)
                continue
            backoff.reset()
            for message in messages:
                if self.stopping:
                    break
                self.handle(message)
            if messages:
                log.info(
                    "Data collection completed. Elapsed time: %.3f seconds. Waiting for 0 second(s) until the next one",
                    time.monotonic() - started,
                )

    def _receive(self) -> list[dict[str, Any]]:
        response = self.deps.setup.sqs.receive_message(
            QueueUrl=self.spec.base_url,
            MaxNumberOfMessages=self.spec.sqs_max_messages,
            WaitTimeSeconds=self.spec.sqs_wait_timeout,
            VisibilityTimeout=self.spec.sqs_visibility_timeout,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        self.deps.counters.add(messages_received=len(messages))
        if messages:
            sent_ms = max(int(m.get("Attributes", {}).get("SentTimestamp", 0)) for m in messages)
            self.deps.counters.set_message_age(time.time() - sent_ms / 1000 if sent_ms else 0.0)
        return messages

    def handle(self, message: dict[str, Any]) -> None:
        """Collect everything one message announces; seal it for deletion, or leave it in SQS."""
        inflight = self.deps.tracker.open(
            message["MessageId"],
            message["ReceiptHandle"],
            receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            visibility_seconds=self.spec.sqs_visibility_timeout,
        )
        builder = self._builder(inflight, source=f"message {message['MessageId']}")
        try:
            if self.spec.direct_mode:
                self._collect_body(message["Body"], builder)
            else:
                self._collect_notification(message, inflight, builder)
            builder.flush()
        except Interrupted:
            log.info("Stopping: message %s handed back to the queue", inflight.message_id)
            self.deps.tracker.abandon(inflight)
            self.deps.failures.release(inflight, 0)
            return
        except (NotificationError, ObjectError) as exc:
            self.deps.tracker.abandon(inflight)
            self.deps.counters.add(messages_failed=1)
            self.deps.failures.settle(inflight, exc)
            return
        self.deps.tracker.seal(inflight)

    def _collect_notification(self, message: dict[str, Any], inflight: InFlight, builder: BatchBuilder) -> None:
        notification = parse_notification(message["Body"])
        if notification.ignored:
            self.deps.counters.add(notifications_ignored=notification.ignored)
            log.debug(
                "Message %s: %d %s event(s) without objects to collect",
                inflight.message_id,
                notification.ignored,
                notification.kind,
            )
        for ref in notification.objects:
            if self.stopping:
                raise Interrupted
            builder.source = f"s3://{ref.bucket}/{ref.key}"
            self._collect_object(ref, builder)

    def _collect_object(self, ref: ObjectRef, builder: BatchBuilder) -> None:
        pipeline = self.deps.router.pipeline_for(ref.key)
        checkpoint = self.deps.state.checkpoint(ref) if pipeline and not pipeline.skips(ref.key) else None
        if pipeline is None or checkpoint is None:
            log.info("Skipped s3://%s/%s (%s)", ref.bucket, ref.key, _skip_reason(ref, pipeline))
            self.deps.counters.add(objects_skipped=1)
            return
        ctx = ObjectContext(source=f"s3://{ref.bucket}/{ref.key}")
        if checkpoint.resume_at:
            log.info("Resuming %s after its first %d record(s), already delivered", ctx.source, checkpoint.resume_at)
        builder.begin_object(checkpoint)
        try:
            with closing(open_object(self.deps.setup.s3, ref)) as body:
                audited = HashingReader(body) if pipeline.service.send_md5_message else None
                stream = cast(IO[bytes], audited) if audited is not None else body
                for tag, messages in pipeline.run(
                    stream, ref.key, ctx, spool_dir=self.deps.spool_dir, stored_bytes=stored_size(body)
                ):
                    if self.spec.debug_mode:
                        self._trace(tag, messages)
                    builder.add(tag, messages)
                if audited is not None:
                    audited.finish()
        except ObjectError as exc:
            builder.end_object()
            exc.bucket, exc.key = ref.bucket, ref.key
            self.deps.counters.add(objects_failed=1)
            raise
        checkpoint.finished(builder.end_object())
        if audited is not None:
            builder.add(AUDIT_TAG, [audit_event(ref, audited, ctx, service=pipeline.name)])
        self.deps.counters.add_object(ctx.stats, service=pipeline.name, seconds=ctx.elapsed_seconds)
        log.info("Collected %s with %s: %s", ctx.source, pipeline.name, ctx.summary())

    def _collect_body(self, body: str, builder: BatchBuilder) -> None:
        """Direct mode: the message body is the data."""
        pipeline = self.deps.router.pipeline_for("")
        if pipeline is None:
            raise PermanentObjectError("direct mode: no service without key_pattern to handle message bodies")
        ctx = ObjectContext(source="message body")
        for tag, messages in pipeline.run_body(body.encode(), ctx):
            builder.add(tag, messages)
        self.deps.counters.add_object(ctx.stats, service=pipeline.name, seconds=ctx.elapsed_seconds)

    def _builder(self, inflight: InFlight, *, source: str) -> BatchBuilder:
        return BatchBuilder(
            kind="standard",
            source=source,
            max_records=self.deps.globals.queue_wrap_max_size_in_messages,
            max_bytes=self.deps.globals.batch_max_bytes,
            max_age_seconds=self.deps.globals.queue_max_elapsed_time_in_sec,
            emit=lambda batch, segments: self._emit(inflight, batch, segments),
        )

    def _emit(self, inflight: InFlight, batch: Batch, segments: list[Segment]) -> None:
        """Hand a batch over once the previous one is acknowledged: one unacknowledged batch at a time is what
        bounds a crash's duplicates to one batch per object (more puller threads give more throughput)."""
        if self.spec.do_not_send:
            log.info("do_not_send: batch of %d record(s) from %s not sent", batch.record_count, batch.source)
            return
        payload = encode_batch(batch)
        while not self.stopping and self._unacknowledged is not None:
            if self.deps.tracker.wait_acknowledged(self._unacknowledged, 0.5):
                break
        if self.stopping:
            raise Interrupted
        self.deps.tracker.add_batch(inflight, batch.batch_id, on_acked=lambda _: _advance(segments))
        self._unacknowledged = batch.batch_id
        while True:
            try:
                self.deps.put_batch(payload)
                return
            except queue.Full:
                if self.stopping:
                    raise Interrupted from None

    def _trace(self, tag: str, messages: list[bytes]) -> None:
        for message in messages:
            log.info("debug_mode: %s <- %s", tag, message.decode(errors="replace"))


def _advance(segments: list[Segment]) -> None:
    for segment in segments:
        segment.checkpoint.acknowledged(segment.start, segment.end)


def _skip_reason(ref: ObjectRef, pipeline: ServicePipeline | None) -> str:
    """Why an object without a checkpoint is skipped."""
    if pipeline is None:
        return "no service's key_pattern matches"
    if pipeline.skips(ref.key):
        return f"{pipeline.name} filename_filter_rules"
    return "already delivered"
