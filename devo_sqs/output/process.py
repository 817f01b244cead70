"""The OutputProcess: takes record batches off the inter-process queue, hands each to its sender manager,
and sends an acknowledgement back once every output confirmed it.

Stop order: the parent sets `stop_output` after the InputProcess has exited; what is still queued is
delivered (within the drain time), then the delivery threads stop and the final statistics go to the parent.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from devo_sqs import logs
from devo_sqs.channels import Channels
from devo_sqs.config.models import INPUT_NAME, CollectorConfig
from devo_sqs.errors import DecodeError
from devo_sqs.internal_events import InternalEvents, InternalLogHandler, internal_ids
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import KINDS, Ack, decode_batch, encode_acks
from devo_sqs.monitor import MemoryMonitor
from devo_sqs.output.managers import ManagerMonitor, SenderManager
from devo_sqs.process_guard import ignore_terminal_signals, parent_alive
from devo_sqs.status import StatusReporter

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
OUTPUT_INTERNAL_IDS = -(1 << 40)  # internal batches made here; the input process counts down from -1


class BatchConsumer(Worker):
    """Moves batches from the inter-process queue to the sender managers (blocking when they are full)."""

    def __init__(self, batches: queue.Queue[bytes], managers: Mapping[str, SenderManager]) -> None:
        super().__init__("OutputStandardConsumer(standard_senders_consumer_0)")
        self._batches = batches
        self._managers = managers

    def work(self) -> None:
        while True:
            try:
                payload = self._batches.get(timeout=0.2)
            except queue.Empty:
                if self.stopping:
                    return
                continue
            try:
                batch = decode_batch(payload)
            except DecodeError as exc:
                log.error("Dropped an undecodable batch from the input process: %s", exc)
                continue
            self._managers[batch.kind].submit(batch)


def run_output_process(config: CollectorConfig, channels: Channels) -> None:
    """Entry point of the OutputProcess (spawned)."""
    ignore_terminal_signals()
    logs.forward_to(channels.logs, debug=config.globals.debug)
    log.info("Process started")
    send_ack = _ack_sender(channels)
    spool_dir = Path(config.globals.persistence.config.directory_name) / "spool"
    managers: dict[str, SenderManager] = {
        kind: SenderManager(
            kind,
            config.outputs,
            on_ack=send_ack,
            compressed=config.inputs.sqs_collector.compressed_events,
            spool_dir=spool_dir,
            spool_max_bytes=config.globals.spool_max_size_in_mb << 20,
            draining=channels.stop_input.is_set,
        )
        for kind in KINDS
    }
    events = InternalEvents(
        collector=config.globals.name,
        input_name=INPUT_NAME,
        input_id=config.inputs.sqs_collector.id,
        ids=internal_ids(OUTPUT_INTERNAL_IDS),
        sink=managers["internal"].offer,
    )
    logging.getLogger().addHandler(InternalLogHandler(events))
    consumer = BatchConsumer(channels.batches, managers)  # type: ignore[arg-type]
    reporter = StatusReporter("output", lambda: {kind: m.snapshot() for kind, m in managers.items()}, channels.status)
    helpers: list[Worker] = [
        reporter,
        MemoryMonitor(period_seconds=config.globals.gc_period_in_sec),
        *(ManagerMonitor(m, period_seconds=config.globals.sender_stats_period_in_sec) for m in managers.values()),
    ]
    for manager in managers.values():
        manager.start()
    consumer.start()
    for helper in helpers:
        helper.start()
    while not channels.stop_output.wait(0.5):
        if not parent_alive():
            log.warning("Parent process is gone; stopping")
            break
    _drain(consumer, managers)
    for helper in helpers:
        helper.stop()
    for manager in managers.values():
        for line in manager.status_lines():
            log.info("%s", line)
    channels.acks.cancel_join_thread()  # the input process is gone; nobody reads late acknowledgements
    reporter.report()
    log.info("Process stopped")


def _drain(consumer: BatchConsumer, managers: Mapping[str, SenderManager]) -> None:
    consumer.stop()
    consumer.join(DRAIN_SECONDS)
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline and not all(manager.idle() for manager in managers.values()):
        time.sleep(0.05)
    for manager in managers.values():
        manager.stop()
    for manager in managers.values():
        manager.join(DRAIN_SECONDS)


def _ack_sender(channels: Channels) -> Callable[[Ack], None]:
    lock = threading.Lock()

    def send(ack: Ack) -> None:
        with lock:
            channels.acks.put(encode_acks([ack]))

    return send
