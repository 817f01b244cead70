"""The InputProcess: per input, a setup thread, puller threads, the acknowledgement listener and the
deleter. Stop order: pullers (a half-done message stays in SQS), then wait for acknowledgements of the
sealed messages, then the deleter and the rest."""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from devo_sqs import logs
from devo_sqs.channels import Channels
from devo_sqs.config.loader import predefined_services
from devo_sqs.config.models import INPUT_NAME, CollectorConfig, SqsInput
from devo_sqs.errors import DecodeError
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.ingest.deleter import Deleter
from devo_sqs.ingest.failures import FailurePolicy
from devo_sqs.ingest.puller import Puller, PullerDeps
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import MessageTracker
from devo_sqs.ingest.visibility import VisibilityKeeper
from devo_sqs.internal_events import InternalEvents, InternalLogHandler, internal_ids
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import Batch, decode_acks, encode_batch
from devo_sqs.monitor import MemoryMonitor
from devo_sqs.persistence.state import DeliveryState
from devo_sqs.process_guard import ignore_terminal_signals, parent_alive
from devo_sqs.processing.services import ServiceRouter
from devo_sqs.status import StatusReporter

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0


class AckListener(Worker):
    def __init__(self, acks: Queue[bytes], tracker: MessageTracker) -> None:
        super().__init__("AckListener")
        self._acks = acks
        self._tracker = tracker

    def work(self) -> None:
        while not self.stopping:
            try:
                payload = self._acks.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                for ack in decode_acks(payload):
                    self._tracker.acknowledge(ack)
            except DecodeError as exc:
                log.error("Undecodable acknowledgement from the output process: %s", exc)


def thread_label(spec: SqsInput) -> str:
    """`sqs_collector,12345,aws_sqs_vpc,predefined` - which input and services a thread works for."""
    names = list(spec.services)
    kind = (
        "predefined" if all(name in predefined_services() and name != "custom_service" for name in names) else "custom"
    )
    return f"{INPUT_NAME},{spec.id},{'+'.join(names)},{kind}"


def run_input_process(config: CollectorConfig, channels: Channels) -> None:
    """Entry point of the InputProcess (spawned)."""
    ignore_terminal_signals()
    logs.forward_to(channels.logs, debug=config.globals.debug)
    log.info("Process started")
    spec = config.inputs.sqs_collector
    label = thread_label(spec)
    counters = InputCounters()
    setup = AwsSetup(spec, name=f"AWSsqsPullerSetup({label})")
    deleter = Deleter(spec, setup, counters, name=f"AWSsqsDeleter({label})")
    tracker = MessageTracker(on_complete=deleter.enqueue)
    state_dir = Path(config.globals.persistence.config.directory_name) / spec.id
    state_dir.mkdir(parents=True, exist_ok=True)
    events = InternalEvents(
        collector=config.globals.name,
        input_name=INPUT_NAME,
        input_id=spec.id,
        ids=internal_ids(-1),
        sink=lambda batch: _offer(channels, batch),
    )
    logging.getLogger().addHandler(InternalLogHandler(events))
    deps = PullerDeps(
        spec=spec,
        globals=config.globals,
        setup=setup,
        router=ServiceRouter.for_input(spec),
        tracker=tracker,
        counters=counters,
        put_batch=lambda payload: channels.batches.put(payload, timeout=0.5),
        spool_dir=str(state_dir),
        state=DeliveryState(state_dir / "delivery"),
        failures=FailurePolicy(spec, setup, discard=deleter.enqueue, report=events.report),
    )
    pullers = [
        Puller(deps, name=f"AWSsqsPuller({label})" if index == 0 else f"AWSsqsPuller({label})#{index}")
        for index in range(spec.puller_threads)
    ]
    reporter = StatusReporter("input", lambda: _snapshot(counters, tracker, channels), channels.status)
    helpers: list[Worker] = [
        reporter,
        setup,
        deleter,
        AckListener(channels.acks, tracker),
        VisibilityKeeper(spec, setup, tracker, name=f"AWSsqsVisibility({label})"),
        MemoryMonitor(period_seconds=config.globals.gc_period_in_sec),
    ]
    for thread in [*helpers, *pullers]:
        log.info("%s - Starting thread", thread.name)
        thread.start()
    while not channels.stop_input.wait(0.5):
        if not parent_alive():
            log.warning("Parent process is gone; stopping")
            break
    _stop(pullers, helpers, tracker)
    channels.batches.cancel_join_thread()  # what is still buffered was never acknowledged: it stays in SQS
    reporter.report()
    log.info("Process stopped: %s", counters.snapshot())


def _snapshot(counters: InputCounters, tracker: MessageTracker, channels: Channels) -> dict[str, Any]:
    return {**counters.snapshot(), "messages_in_flight": len(tracker.in_flight()), "queue_batches": _qsize(channels)}


def _qsize(channels: Channels) -> int:
    try:
        return channels.batches.qsize()
    except NotImplementedError:  # macOS has no sem_getvalue
        return -1


def _offer(channels: Channels, batch: Batch) -> None:
    """Internal events never wait: when the queue to the output is full, they are dropped."""
    with contextlib.suppress(queue.Full):
        channels.batches.put_nowait(encode_batch(batch))


def _stop(pullers: list[Puller], helpers: list[Worker], tracker: MessageTracker) -> None:
    for puller in pullers:
        puller.stop()
    for puller in pullers:
        puller.join(DRAIN_SECONDS)
    deadline = time.monotonic() + DRAIN_SECONDS
    while tracker.waiting() and time.monotonic() < deadline:
        time.sleep(0.05)
    if tracker.waiting():
        log.warning("%d message(s) still waiting for delivery are left in the queue", tracker.waiting())
    for helper in helpers:
        helper.stop()
    for helper in helpers:
        helper.join(DRAIN_SECONDS)
