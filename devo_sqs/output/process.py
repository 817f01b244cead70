"""The OutputProcess: reads record batches off the batch pipe, hands each to its sender manager, and writes each
batch's verdict back on the acknowledgement pipe.

Every batch it takes is settled by it: delivered, spooled, or failed back (undecodable, no room in the sender
channels within `SUBMIT_SECONDS`, an output that could do neither). The parent's commands: `drain` (the collector is
stopping: spool at the first failure rather than retry, so the input's last messages settle quickly), `finish` (the
input is gone: deliver or spool what is queued, then exit), `now` (spool what is held and exit).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path

from devo_sqs.child import ChildLink, child_process
from devo_sqs.config.models import INPUT_NAME, CollectorConfig
from devo_sqs.errors import DecodeError
from devo_sqs.internal_events import InternalEvents, InternalLogHandler, internal_ids
from devo_sqs.lifecycle import RESTARTS, Worker
from devo_sqs.links import Command, OutputEnds
from devo_sqs.messages import KINDS, Ack, Verdict, batch_id_of, decode_batch, encode_acks
from devo_sqs.monitor import MemoryMonitor
from devo_sqs.output.managers import ManagerMonitor, SenderManager
from devo_sqs.status import StatusReporter

log = logging.getLogger(__name__)

FINISH_SECONDS = 12.0
NOW_SECONDS = 4.0
SUBMIT_SECONDS = 60.0
COMMAND_POLL_SECONDS = 0.5
OUTPUT_INTERNAL_IDS = -(1 << 40)  # internal batches made here; the input process counts down from -1


def run_output_process(config: CollectorConfig, ends: OutputEnds) -> None:
    """Entry point of the OutputProcess (spawned): run until the parent says finish or now, or is gone."""
    debug = config.globals.debug
    with child_process(comm="devo-sqs-output", control=ends.control, reports=ends.reports, debug=debug) as link:
        process = OutputProcess(config, ends, link)
        process.start()
        while True:
            command = link.next_command(COMMAND_POLL_SECONDS)
            if command == Command.DRAIN:
                process.draining.set()
            elif command == Command.FINISH:
                process.finish()
                return
            elif command in (Command.NOW, Command.GONE):
                if command == Command.GONE:
                    log.warning("Parent process is gone; stopping")
                process.stop_now()
                return


class AckWriter(Worker):
    """The only writer of the acknowledgement pipe; verdicts go back in lists, as many as are waiting."""

    def __init__(self, conn: Connection) -> None:
        super().__init__("AckWriter")
        self._conn = conn
        self._acks: queue.Queue[Ack] = queue.Queue()
        self.input_gone = False

    def send(self, ack: Ack) -> None:
        self._acks.put(ack)

    def work(self) -> None:
        while True:
            try:
                acks = [self._acks.get(timeout=0.2)]
            except queue.Empty:
                if self.stopping:
                    return
                continue
            while len(acks) < 1000:
                try:
                    acks.append(self._acks.get_nowait())
                except queue.Empty:
                    break
            if self.input_gone:
                continue
            try:
                self._conn.send_bytes(encode_acks(acks))
            except (OSError, ValueError):
                self.input_gone = True
                log.info("The input process is gone; verdicts are no longer sent")


class BatchReader(Worker):
    """The only reader of the batch pipe: decodes each batch and submits it to its manager."""

    def __init__(
        self, conn: Connection, managers: Mapping[str, SenderManager], acks: AckWriter, hurry: threading.Event
    ) -> None:
        super().__init__("OutputStandardConsumer(standard_senders_consumer_0)")
        self._conn = conn
        self._managers = managers
        self._acks = acks
        self._hurry = hurry
        self.input_gone = threading.Event()

    def work(self) -> None:
        while not self.stopping:
            try:
                if not self._conn.poll(0.2):
                    continue
                payload = self._conn.recv_bytes()
            except (EOFError, OSError):
                self.input_gone.set()
                return
            try:
                batch = decode_batch(payload)
            except DecodeError as exc:
                self._reject(payload, exc)
                continue
            self._managers[batch.kind].submit(batch, timeout=SUBMIT_SECONDS, cancelled=self._hurry.is_set)

    def _reject(self, payload: bytes, exc: DecodeError) -> None:
        batch_id = batch_id_of(payload)
        log.error("Undecodable batch %s from the input process: %s", batch_id, exc)
        if batch_id is not None and batch_id >= 0:
            self._acks.send(Ack(batch_id=batch_id, verdict=Verdict.FAILED))


class OutputProcess:
    def __init__(self, config: CollectorConfig, ends: OutputEnds, link: ChildLink) -> None:
        self.draining = threading.Event()
        self.hurry = threading.Event()
        self.acks = AckWriter(ends.acks)
        spool_dir = Path(config.globals.persistence.config.directory_name) / "spool"
        self.managers: dict[str, SenderManager] = {
            kind: SenderManager(
                kind,
                config.outputs,
                on_ack=self.acks.send,
                compressed=config.inputs.sqs_collector.compressed_events,
                spool_dir=spool_dir,
                spool_max_bytes=config.globals.spool_max_size_in_mb << 20,
                draining=self.draining.is_set,
                hurry=self.hurry.is_set,
            )
            for kind in KINDS
        }
        events = InternalEvents(
            collector=config.globals.name,
            input_name=INPUT_NAME,
            input_id=config.inputs.sqs_collector.id,
            ids=internal_ids(OUTPUT_INTERNAL_IDS),
            sink=self.managers["internal"].offer,
        )
        logging.getLogger().addHandler(InternalLogHandler(events))
        self.reader = BatchReader(ends.batches, self.managers, self.acks, self.hurry)
        self.reporter = StatusReporter(self.snapshot, link.reports)
        self.helpers: list[Worker] = [
            self.reporter,
            MemoryMonitor(period_seconds=config.globals.gc_period_in_sec),
            *(
                ManagerMonitor(m, period_seconds=config.globals.sender_stats_period_in_sec)
                for m in self.managers.values()
            ),
        ]

    def start(self) -> None:
        self.acks.start()
        for manager in self.managers.values():
            manager.start()
        self.reader.start()
        for helper in self.helpers:
            helper.start()

    def finish(self) -> None:
        """The input is gone: take what is left in the pipe, deliver or spool it, stop."""
        log.info("Stopping: delivering what is queued")
        self.draining.set()
        deadline = time.monotonic() + FINISH_SECONDS
        self.reader.input_gone.wait(max(0.0, deadline - time.monotonic()) / 2)
        self.reader.stop()
        self.reader.join(1.0)
        while not all(m.idle() for m in self.managers.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop_managers(deadline)

    def stop_now(self) -> None:
        log.info("Stopping at once: what is held goes to emergency persistence")
        self.draining.set()
        self.hurry.set()
        self.reader.stop()
        self._stop_managers(time.monotonic() + NOW_SECONDS)

    def _stop_managers(self, deadline: float) -> None:
        for manager in self.managers.values():
            manager.stop()
        for manager in self.managers.values():
            manager.join(max(0.1, deadline - time.monotonic()))
        for helper in self.helpers:
            helper.stop()
        for manager in self.managers.values():
            for line in manager.status_lines():
                log.info("%s", line)
        self.acks.stop()
        self.acks.join(1.0)
        self.reporter.report()
        log.info("Process stopped")

    def snapshot(self) -> dict[str, object]:
        return {
            "managers": {kind: manager.snapshot() for kind, manager in self.managers.items()},
            "thread_restarts": RESTARTS.recent(),
            "thread_restarts_total": RESTARTS.total,
        }
