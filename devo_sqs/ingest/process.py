"""The InputProcess: per input, a setup thread, the receiver, the puller threads, the batch writer and the
acknowledgement reader, the settler, the visibility and deadline keepers.

Stop (the parent's `drain`): stop receiving; hand back at once the messages no puller started and those a puller
was interrupted in; wait (within the drain time) for the acknowledgements of the sealed ones; carry out every
settlement; exit. `now` skips the wait.
"""

from __future__ import annotations

import logging
import queue
import time
from pathlib import Path
from typing import Any

from devo_sqs.child import ChildLink, child_process
from devo_sqs.config.loader import predefined_services
from devo_sqs.config.models import INPUT_NAME, MAX_PULLERS, CollectorConfig, SqsInput
from devo_sqs.ingest.budget import ByteBudget
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.ingest.deadlines import DeadlineKeeper
from devo_sqs.ingest.handover import AckReader, BatchWriter, Handover, OutputLink
from devo_sqs.ingest.puller import Puller, PullerDeps
from devo_sqs.ingest.receiver import Receiver
from devo_sqs.ingest.settlement import Outcome
from devo_sqs.ingest.settler import Settler
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight, MessageTracker, Stage
from devo_sqs.ingest.visibility import VisibilityKeeper
from devo_sqs.internal_events import InternalEvents, InternalLogHandler, internal_ids
from devo_sqs.lifecycle import RESTARTS, Worker
from devo_sqs.links import Command, InputEnds
from devo_sqs.messages import Batch, encode_batch
from devo_sqs.monitor import MemoryMonitor
from devo_sqs.persistence.state import DeliveryState
from devo_sqs.processing.services import ServiceRouter
from devo_sqs.status import StatusReporter

log = logging.getLogger(__name__)

DRAIN_SECONDS = 8.0  # waiting for the acknowledgements of sealed messages at a stop
JOIN_SECONDS = 2.0
COMMAND_POLL_SECONDS = 0.5


def thread_label(spec: SqsInput) -> str:
    """`sqs_collector,12345,aws_sqs_vpc,predefined` - which input and services a thread works for."""
    names = list(spec.services)
    kind = (
        "predefined" if all(name in predefined_services() and name != "custom_service" for name in names) else "custom"
    )
    return f"{INPUT_NAME},{spec.id},{'+'.join(names)},{kind}"


def run_input_process(config: CollectorConfig, ends: InputEnds) -> None:
    """Entry point of the InputProcess (spawned): run until the parent says stop, or is gone."""
    debug = config.globals.debug
    with child_process(comm="devo-sqs-input", control=ends.control, reports=ends.reports, debug=debug) as link:
        process = InputProcess(config, ends, link)
        process.start()
        command = None
        while command is None:
            command = link.next_command(COMMAND_POLL_SECONDS)
        if command == Command.GONE:
            log.warning("Parent process is gone; stopping")
        process.stop(now=command != Command.DRAIN)


class InputProcess:
    def __init__(self, config: CollectorConfig, ends: InputEnds, link: ChildLink) -> None:
        spec = self.spec = config.inputs.sqs_collector
        label = thread_label(spec)
        self.counters = InputCounters()
        self.setup = AwsSetup(spec, name=f"AWSsqsPullerSetup({label})")
        self.budget = ByteBudget(config.globals.queue_max_size_in_mb << 20)
        events = InternalEvents(
            collector=config.globals.name,
            input_name=INPUT_NAME,
            input_id=spec.id,
            ids=internal_ids(-1),
            sink=self._offer_internal,
        )
        logging.getLogger().addHandler(InternalLogHandler(events))
        self.settler = Settler(spec, self.setup, self.counters, report=events.report, name=f"AWSsqsSettler({label})")
        self.tracker = MessageTracker(settle=self.settler.settle, budget=self.budget)
        self.output = OutputLink(self.tracker)
        self.handover = Handover(
            tracker=self.tracker,
            budget=self.budget,
            link=self.output,
            deadline_seconds=spec.batch_deadline,
            do_not_send=spec.do_not_send,
        )
        state_dir = Path(config.globals.persistence.config.directory_name) / spec.id
        state_dir.mkdir(parents=True, exist_ok=True)
        work: queue.Queue[InFlight] = queue.Queue()
        deps = PullerDeps(
            spec=spec,
            globals=config.globals,
            setup=self.setup,
            router=ServiceRouter.for_input(spec),
            tracker=self.tracker,
            handover=self.handover,
            counters=self.counters,
            work=work,
            spool_dir=str(state_dir),
            state=DeliveryState(state_dir / "delivery"),
        )
        pullers = spec.puller_threads or MAX_PULLERS
        self.pullers = [
            Puller(deps, name=f"AWSsqsPuller({label})" if index == 0 else f"AWSsqsPuller({label})#{index}")
            for index in range(pullers)
        ]
        self.receiver = Receiver(
            spec=spec,
            setup=self.setup,
            tracker=self.tracker,
            counters=self.counters,
            work=work,
            limits=lambda: (pullers, spec.sqs_max_messages or 10),
            paused=lambda: self.output.gone,
            release_now=self._hand_back,
            name=f"AWSsqsReceiver({label})",
        )
        self.reporter = StatusReporter(self.snapshot, link.reports)
        self.helpers: list[Worker] = [
            self.reporter,
            self.setup,
            self.settler,
            BatchWriter(self.handover.outbox, ends.batches, self.output),
            AckReader(ends.acks, self.tracker, self.output),
            VisibilityKeeper(spec, self.setup, self.tracker, name=f"AWSsqsVisibility({label})"),
            DeadlineKeeper(self.tracker, deadline_seconds=spec.batch_deadline, name=f"AWSsqsDeadlines({label})"),
            MemoryMonitor(period_seconds=config.globals.gc_period_in_sec),
        ]

    def start(self) -> None:
        for thread in [*self.helpers, self.receiver, *self.pullers]:
            log.info("%s - Starting thread", thread.name)
            thread.start()

    def stop(self, *, now: bool) -> None:
        log.info("Stopping: no more receiving%s", "" if now else "; waiting for the sealed messages' acknowledgements")
        self.receiver.stop()
        for puller in self.pullers:
            puller.stop()
        self._hand_back([m for m in self.tracker.in_hand() if m.stage is Stage.RECEIVED])
        deadline = time.monotonic() + DRAIN_SECONDS
        for thread in [*self.pullers, self.receiver]:
            thread.join(max(0.1, min(JOIN_SECONDS, deadline - time.monotonic())))
        while not now and self.tracker.count(Stage.SEALED) and not self.output.gone and time.monotonic() < deadline:
            time.sleep(0.05)
        waiting = self.tracker.count(Stage.SEALED)
        if waiting:
            log.warning("%d message(s) still waiting for delivery are left in the queue", waiting)
        self.settler.flush(timeout=JOIN_SECONDS)
        for helper in self.helpers:
            helper.stop()
        for helper in self.helpers:
            helper.join(JOIN_SECONDS / 4)
        self.reporter.report()
        log.info("Process stopped: %s", self.counters.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return {
            **self.counters.snapshot(),
            "messages_in_flight": len(self.tracker.in_hand()),
            "bytes_in_flight": self.budget.used_bytes,
            "seconds_since_settlement": time.monotonic() - self.tracker.last_settlement,
            "thread_restarts": RESTARTS.recent(),
            "thread_restarts_total": RESTARTS.total,
            "output_gone": self.output.gone,
        }

    def _hand_back(self, messages: list[InFlight]) -> None:
        for inflight in messages:
            self.tracker.fail(inflight, Outcome.STOPPED, None)

    def _offer_internal(self, batch: Batch) -> None:
        """Internal events are rate-limited at their source, so they skip the byte budget and are never tracked."""
        self.handover.outbox.put((batch.batch_id, encode_batch(batch)))
