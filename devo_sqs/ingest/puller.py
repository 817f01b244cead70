"""The puller thread: take a received message, read each object it announces through its service's pipeline, and
hand record batches to the output process.

Each message has a failure boundary: whatever goes wrong while handling it (a notification with the wrong types,
an object that cannot be read, a bug) settles that message through the failure policy, with one log line, and the
puller goes on with the next message. Settling is the tracker's job (see `tracker.py`).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import IO, cast

from devo_sqs.config.models import Globals, SqsInput
from devo_sqs.errors import ObjectError, PermanentObjectError
from devo_sqs.ingest.audit import AUDIT_TAG, HashingReader, audit_event
from devo_sqs.ingest.batching import BatchBuilder, Segment
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.ingest.handover import Abandoned, Handover, Interrupted
from devo_sqs.ingest.notifications import parse_notification
from devo_sqs.ingest.objects import open_object
from devo_sqs.ingest.settlement import Outcome, classify
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight, MessageTracker
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import Batch, ObjectRef
from devo_sqs.persistence.state import DeliveryState
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.records import ObjectContext
from devo_sqs.processing.services import ServiceRouter

log = logging.getLogger(__name__)

TAKE_SECONDS = 0.5


@dataclass(frozen=True)
class PullerDeps:
    """What every puller of one input shares."""

    spec: SqsInput
    globals: Globals
    setup: AwsSetup
    router: ServiceRouter
    tracker: MessageTracker
    handover: Handover
    counters: InputCounters
    work: queue.Queue[InFlight]  # received messages, in the order they arrived
    spool_dir: str  # scratch space for formats that need a seekable copy (parquet)
    state: DeliveryState
    admits: Callable[[int, float], bool] = lambda index, timeout: True  # may puller `index` take a message now


class Puller(Worker):
    def __init__(self, deps: PullerDeps, *, name: str, index: int = 0) -> None:
        super().__init__(name)
        self.deps = deps
        self.spec = deps.spec
        self.index = index  # pullers numbered past the concurrency limit wait until it grows

    def work(self) -> None:
        while not self.deps.setup.ready.wait(TAKE_SECONDS):
            if self.stopping:
                return
        while not self.stopping:
            if not self.deps.admits(self.index, TAKE_SECONDS):
                continue
            try:
                inflight = self.deps.work.get(timeout=TAKE_SECONDS)
            except queue.Empty:
                continue
            self.handle(inflight)

    def handle(self, inflight: InFlight) -> None:
        """Collect everything one message announces, then seal it; any failure settles it instead."""
        started = time.monotonic()
        self.deps.tracker.start(inflight)
        builder = self._builder(inflight)
        try:
            if self.stopping:
                raise Interrupted
            if self.spec.direct_mode:
                self._collect_body(inflight.body, builder)
            else:
                self._collect_notification(inflight, builder)
            builder.flush()
        except Interrupted:
            self.deps.tracker.fail(inflight, Outcome.STOPPED, None)
        except Abandoned:
            log.debug("Message %s was settled while being collected: %s", inflight.message_id, inflight.failure)
        except Exception as exc:
            self.deps.tracker.fail(inflight, classify(exc, has_dlq=self.deps.setup.has_redrive_policy), exc)
        else:
            self.deps.tracker.seal(inflight)
        elapsed = time.monotonic() - started
        self.deps.counters.add(messages_handled=1, message_seconds=elapsed)
        log.debug(
            "Data collection completed. Elapsed time: %.3f seconds. Waiting for 0 second(s) until the next one", elapsed
        )

    def _collect_notification(self, inflight: InFlight, builder: BatchBuilder) -> None:
        notification = parse_notification(inflight.body, allowed_buckets=self.spec.allowed_buckets)
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
            inflight.source = builder.source = f"s3://{ref.bucket}/{ref.key}"
            self._collect_object(ref, builder)

    def _collect_object(self, ref: ObjectRef, builder: BatchBuilder) -> None:
        pipeline = self.deps.router.pipeline_for(ref.key)
        if pipeline is None or pipeline.skips(ref.key):
            self._skipped(ref, _skip_reason(pipeline))
            return
        ctx = ObjectContext(source=f"s3://{ref.bucket}/{ref.key}")
        audited: HashingReader | None = None
        try:
            identity, body = open_object(self.deps.setup.s3, ref)  # what it holds now: the notification may not say
            with closing(body):
                checkpoint = self.deps.state.checkpoint(identity, fingerprint=pipeline.fingerprint)
                if checkpoint is None:
                    self._skipped(ref, "already delivered")
                    return
                if checkpoint.resume_at:
                    log.info(
                        "Resuming %s after its first %d record(s), already delivered, filtered out or malformed",
                        ctx.source,
                        checkpoint.resume_at,
                    )
                builder.begin_object(checkpoint)
                audited = HashingReader(body) if pipeline.service.send_md5_message else None
                stream = cast(IO[bytes], audited) if audited is not None else body
                spans = pipeline.spans(
                    stream,
                    ref.key,
                    ctx,
                    spool_dir=self.deps.spool_dir,
                    stored_bytes=identity.size or None,
                    resume_at=checkpoint.resume_at,
                    max_records=builder.max_records,
                )
                for span in spans:
                    if self.spec.debug_mode:
                        self._trace(span.runs)
                    builder.add_span(span)
                if audited is not None:
                    audited.finish()
        except Exception as exc:
            builder.end_object()
            if isinstance(exc, ObjectError):
                exc.bucket, exc.key = ref.bucket, ref.key
            if not isinstance(exc, Interrupted | Abandoned):
                self.deps.counters.add(objects_failed=1)
            raise
        checkpoint.finished(builder.end_object())
        if audited is not None:
            builder.add(AUDIT_TAG, [audit_event(ref, audited, ctx, service=pipeline.name)])
        self.deps.counters.add_object(ctx.stats, service=pipeline.name, seconds=ctx.elapsed_seconds)
        log.debug("Collected %s with %s: %s", ctx.source, pipeline.name, ctx.summary())

    def _skipped(self, ref: ObjectRef, reason: str) -> None:
        log.info("Skipped s3://%s/%s (%s)", ref.bucket, ref.key, reason)
        self.deps.counters.add(objects_skipped=1)

    def _collect_body(self, body: str, builder: BatchBuilder) -> None:
        """Direct mode: the message body is the data."""
        pipeline = self.deps.router.pipeline_for("")
        if pipeline is None:
            raise PermanentObjectError("direct mode: no service without key_pattern to handle message bodies")
        ctx = ObjectContext(source="message body")
        for tag, messages in pipeline.run_body(body.encode(), ctx):
            builder.add(tag, messages)
        self.deps.counters.add_object(ctx.stats, service=pipeline.name, seconds=ctx.elapsed_seconds)

    def _builder(self, inflight: InFlight) -> BatchBuilder:
        return BatchBuilder(
            kind="standard",
            source=f"message {inflight.message_id}",
            max_records=self.deps.globals.queue_wrap_max_size_in_messages,
            max_bytes=self.deps.globals.batch_max_bytes,
            max_age_seconds=self.deps.globals.queue_max_elapsed_time_in_sec,
            emit=lambda batch, segments: self._emit(inflight, batch, segments),
        )

    def _emit(self, inflight: InFlight, batch: Batch, segments: list[Segment]) -> None:
        self.deps.handover.emit(inflight, batch, on_acked=lambda: _advance(segments), stopping=lambda: self.stopping)

    def _trace(self, runs: list[tuple[str, list[bytes]]]) -> None:
        for tag, messages in runs:
            for message in messages:
                log.info("debug_mode: %s <- %s", tag, message.decode(errors="replace"))


def _advance(segments: list[Segment]) -> None:
    for segment in segments:
        segment.checkpoint.acknowledged(segment.start, segment.end)


def _skip_reason(pipeline: ServicePipeline | None) -> str:
    """Why an object is skipped before it is read."""
    return "no service's key_pattern matches" if pipeline is None else f"{pipeline.name} filename_filter_rules"
