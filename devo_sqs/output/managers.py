"""Sender managers: `standard` (collected events), `lookup` (lookup tables), `internal` (the collector's own
events). Each has a channel per configured output, drained by that output's delivery threads. A batch is
done when every output confirmed it; only then is its acknowledgement sent back to the input side.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping

from devo_sqs.config.models import ConsoleOutput, DevoOutput, SyslogOutput
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import Ack, Batch, Kind
from devo_sqs.output.delivery import DeliveryThread
from devo_sqs.output.framing import Framer
from devo_sqs.output.senders.base import Sender
from devo_sqs.output.senders.console import ConsoleSender
from devo_sqs.output.senders.syslog import SyslogSender, tls_context
from devo_sqs.output.stats import DeliveryStats

log = logging.getLogger(__name__)

OutputSpec = ConsoleOutput | SyslogOutput | DevoOutput
CHANNEL_BATCHES = 4
SENDER_CLASS = {
    "console": "ConsoleSender",
    "relay": "SyslogSender",
    "syslog": "SyslogSender",
    "devo_platform": "DevoSender",
}


def build_sender(spec: OutputSpec, *, compressed: bool) -> Sender:
    """A sender for one connection of `spec`; sockets and TLS contexts are made here, in the output process."""
    if isinstance(spec, ConsoleOutput):
        return ConsoleSender()
    context = tls_context(chain=spec.chain, cert=spec.cert, key=spec.key) if spec.uses_tls else None
    return SyslogSender(
        address=spec.address,
        port=spec.port,
        tls=context,
        compressed=compressed,
        max_age_seconds=spec.connection_max_age_in_sec,
    )


class SenderManager:
    def __init__(
        self,
        kind: Kind,
        outputs: Mapping[str, OutputSpec],
        *,
        on_ack: Callable[[Ack], None],
        compressed: bool = False,
    ) -> None:
        self.kind = kind
        self.group = f"{kind}_senders"
        self.stats = DeliveryStats(kind.capitalize())
        self._on_ack = on_ack
        self._lock = threading.Lock()
        self._remaining: dict[int, int] = {}
        self.channels: dict[str, queue.Queue[Batch]] = {}
        self.threads: list[DeliveryThread] = []
        for output_name, spec in outputs.items():
            channel: queue.Queue[Batch] = queue.Queue(maxsize=CHANNEL_BATCHES)
            self.channels[output_name] = channel
            connections = 1 if isinstance(spec, ConsoleOutput) else spec.concurrent_connections
            for index in range(connections):
                self.threads.append(
                    DeliveryThread(
                        name=f"{SENDER_CLASS[spec.type]}({self.group},{output_name}_{index})",
                        sender=build_sender(spec, compressed=compressed),
                        framer=Framer(octet_counting=getattr(spec, "multiline", False)),
                        channel=channel,
                        on_confirmed=self._confirmed,
                        on_abandoned=self._abandoned,
                    )
                )

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def submit(self, batch: Batch, *, stopping: Callable[[], bool] = lambda: False) -> bool:
        """Hand `batch` to every output (blocks while they are full); False if `stopping` became true first."""
        with self._lock:
            self._remaining[batch.batch_id] = len(self.channels)
        for channel in self.channels.values():
            while True:
                try:
                    channel.put(batch, timeout=0.5)
                    break
                except queue.Full:
                    if stopping():
                        return False
        return True

    def idle(self) -> bool:
        with self._lock:
            return not self._remaining

    def stop(self) -> None:
        for thread in self.threads:
            thread.stop()

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def queue_size(self) -> int:
        return sum(channel.qsize() for channel in self.channels.values())

    def status_lines(self) -> list[str]:
        lines = [
            f"Number of available senders: {len(self.threads)}, sender manager internal queue size: {self.queue_size()}"
        ]
        for thread in self.threads:
            status = (
                f'{{"internal_queue_size": {thread.channel.qsize()}, "is_connection_open": {thread.sender.is_open}}}'
            )
            lines.append(f"Sender: {thread.name}, status: {status}")
        lines.append(self.stats.report_line())
        return lines

    def _confirmed(self, batch: Batch) -> None:
        if self._settle(batch):
            self.stats.delivered(batch.groups)
            if batch.batch_id >= 0:
                self._on_ack(Ack(batch_id=batch.batch_id, spooled=False))

    def _abandoned(self, batch: Batch) -> None:
        log.warning(
            "Batch %d from %s not delivered (stopping); it will be collected again", batch.batch_id, batch.source
        )
        with self._lock:
            self._remaining.pop(batch.batch_id, None)

    def _settle(self, batch: Batch) -> bool:
        """Count one output done with `batch`; True when it was the last."""
        with self._lock:
            remaining = self._remaining.get(batch.batch_id)
            if remaining is None:
                return False
            if remaining > 1:
                self._remaining[batch.batch_id] = remaining - 1
                return False
            del self._remaining[batch.batch_id]
            return True


class ManagerMonitor(Worker):
    """Logs each manager's statistics every `period` seconds."""

    def __init__(self, manager: SenderManager, *, period_seconds: float) -> None:
        super().__init__(f"SenderManagerMonitor({manager.group})")
        self.manager = manager
        self.period_seconds = period_seconds

    def work(self) -> None:
        log.info("Starting thread (every %.0f seconds)", self.period_seconds)
        while not self.sleep(self.period_seconds):
            for line in self.manager.status_lines():
                log.info("%s", line)
