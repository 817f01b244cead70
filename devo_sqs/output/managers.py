"""Sender managers: `standard` (collected events), `lookup` (the SDK's lookup manager: nothing here produces
lookups, see README), `internal` (the collector's own events). Each has a channel per configured output, drained
by that output's delivery threads. A batch is settled when every output settled it: delivered by all, or spooled by
some and delivered by the rest; it fails as soon as one output fails it. Only then is its verdict sent back to the
input side.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from devo_sqs.config.models import ConsoleOutput, DevoOutput, RelpOutput, SyslogOutput
from devo_sqs.lifecycle import Worker
from devo_sqs.messages import Ack, Batch, Kind, Verdict
from devo_sqs.output.delivery import DeliveryThread, Outcomes
from devo_sqs.output.framing import Framer
from devo_sqs.output.senders.base import Sender
from devo_sqs.output.senders.console import ConsoleSender
from devo_sqs.output.senders.relp import RelpSender
from devo_sqs.output.senders.syslog import SyslogSender, tls_context
from devo_sqs.output.stats import DeliveryStats, QueueWaits
from devo_sqs.output.timed_queue import TimedQueue
from devo_sqs.output.window import ReplayWindow
from devo_sqs.persistence.spool import Spool

log = logging.getLogger(__name__)

OutputSpec = ConsoleOutput | SyslogOutput | DevoOutput | RelpOutput
CHANNEL_BATCHES = 4
SENDER_CLASS = {
    "console": "ConsoleSender",
    "relay": "SyslogSender",
    "syslog": "SyslogSender",
    "devo_platform": "DevoSender",
    "relp": "RelpSender",
}


def build_sender(spec: OutputSpec, *, compressed: bool) -> Sender:
    """A sender for one connection of `spec`; sockets and TLS contexts are made here, in the output process."""
    if isinstance(spec, ConsoleOutput):
        return ConsoleSender(Framer())
    context = tls_context(chain=spec.chain, cert=spec.cert, key=spec.key) if spec.uses_tls else None
    if isinstance(spec, RelpOutput):
        return RelpSender(
            address=spec.address,
            port=spec.port,
            tls=context,
            window_frames=spec.window_size_in_frames,
            max_age_seconds=spec.connection_max_age_in_sec,
        )
    return SyslogSender(
        address=spec.address,
        port=spec.port,
        framer=Framer(octet_counting=spec.multiline),
        tls=context,
        compressed=compressed,
        max_age_seconds=spec.connection_max_age_in_sec,
    )


def build_window(spec: OutputSpec, connections: int) -> ReplayWindow | None:
    """Plain syslog outputs keep a replay window; RELP's acknowledgements and the console need none."""
    if not isinstance(spec, SyslogOutput | DevoOutput):
        return None
    return ReplayWindow(max_bytes=spec.replay_window_bytes // connections, seconds=spec.replay_window_seconds)


class SenderManager:
    def __init__(
        self,
        kind: Kind,
        outputs: Mapping[str, OutputSpec],
        *,
        on_ack: Callable[[Ack], None],
        compressed: bool = False,
        spool_dir: Path | None = None,
        spool_max_bytes: int = 1 << 30,
        draining: Callable[[], bool] = lambda: False,
        hurry: Callable[[], bool] = lambda: False,
    ) -> None:
        self.kind = kind
        self.group = f"{kind}_senders"
        self.stats = DeliveryStats(kind.capitalize())
        self.waits = QueueWaits()
        self._on_ack = on_ack
        self._lock = threading.Lock()
        self._remaining: dict[int, tuple[int, bool]] = {}  # batch id -> (outputs still to settle, spooled by one)
        self.channels: dict[str, queue.Queue[Batch]] = {}
        self.spools: dict[str, Spool] = {}
        self.threads: list[DeliveryThread] = []
        outcomes = Outcomes(
            confirmed=self._confirmed,
            spooled=self._spooled,
            failed=self._failed,
            replayed=self._replayed,
            resent=self._resent,
        )
        for output_name, spec in outputs.items():
            channel: queue.Queue[Batch] = TimedQueue(CHANNEL_BATCHES, on_wait=self.waits.observe)
            self.channels[output_name] = channel
            spool = None
            if spool_dir is not None and not isinstance(spec, ConsoleOutput):
                label = f"{SENDER_CLASS[spec.type]}Manager({self.group},manager,{output_name})"
                spool = self.spools[output_name] = Spool(
                    spool_dir / kind / output_name, max_bytes=spool_max_bytes, label=label
                )
            connections = 1 if isinstance(spec, ConsoleOutput) else spec.concurrent_connections
            for index in range(connections):
                self.threads.append(
                    DeliveryThread(
                        name=f"{SENDER_CLASS[spec.type]}({self.group},{output_name}_{index})",
                        sender=build_sender(spec, compressed=compressed),
                        channel=channel,
                        outcomes=outcomes,
                        spool=spool,
                        window=build_window(spec, connections),
                        retry_window_seconds=getattr(spec, "spool_after_in_sec", 10.0),
                        draining=draining,
                        hurry=hurry,
                    )
                )

    def start(self) -> None:
        for spool in self.spools.values():
            waiting = len(spool)
            found = f"{waiting} batch(es) retrieved from the persistence; sent first" if waiting else None
            log.info(
                "[EMERGENCY PERSISTENCE SYSTEM] %s -> %s",
                spool.label,
                found or "Nothing retrieved from the persistence.",
            )
        for thread in self.threads:
            thread.start()

    def submit(self, batch: Batch, *, timeout: float, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Hand `batch` to every output, waiting up to `timeout` while they are full. False (and the batch failed)
        when there was no room in time or `cancelled()` became true."""
        with self._lock:
            self._remaining[batch.batch_id] = (len(self.channels), False)
        deadline = time.monotonic() + timeout
        for channel in self.channels.values():
            while True:
                try:
                    channel.put(batch, timeout=0.2)
                    break
                except queue.Full:
                    if cancelled() or time.monotonic() >= deadline:
                        self._failed(batch)
                        return False
        return True

    def offer(self, batch: Batch) -> None:
        """Hand `batch` over only where there is room at once (internal events never wait)."""
        for channel in self.channels.values():
            with contextlib.suppress(queue.Full):
                channel.put_nowait(batch)

    def idle(self) -> bool:
        with self._lock:
            return not self._remaining

    def stop(self) -> None:
        for thread in self.threads:
            thread.stop()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for spool in self.spools.values():
            spool.close()

    def queue_size(self) -> int:
        return sum(channel.qsize() for channel in self.channels.values())

    def spooled_batches(self) -> int:
        return sum(len(spool) for spool in self.spools.values())

    @property
    def spool_failing(self) -> bool:
        return any(thread.spool_failing for thread in self.threads)

    def snapshot(self) -> dict[str, Any]:
        """Counters for the parent: delivered records by tag, spooled records, queues, per-connection state."""
        return {
            **self.stats.snapshot(),
            "queue_batches": self.queue_size(),
            "spool_batches": self.spooled_batches(),
            "spool_bytes": sum(spool.size_bytes for spool in self.spools.values()),
            "spool_failing": self.spool_failing,
            "enqueued_seconds": self.waits.histogram(),
            "connections": {
                thread.name: {
                    "reconnects": thread.reconnects,
                    "down": thread.output_down,
                    "open": thread.sender.is_open,
                }
                for thread in self.threads
            },
        }

    def status_lines(self) -> list[str]:
        lines = [
            f"Number of available senders: {len(self.threads)}, "
            f"sender manager internal queue size: {self.queue_size()}, "
            f"emergency persistence: {self.spooled_batches()} batch(es)",
            self.waits.report_line(),
        ]
        for thread in self.threads:
            status = (
                f'{{"internal_queue_size": {thread.channel.qsize()}, "is_connection_open": {thread.sender.is_open}, '
                f'"output_down": {thread.output_down}, "reconnects": {thread.reconnects}}}'
            )
            lines.append(f"Sender: {thread.name}, status: {status}")
        lines.append(self.stats.report_line())
        return lines

    # -- outcomes from the delivery threads ------------------------------------------------------------------

    def _confirmed(self, batch: Batch) -> None:
        self._settle(batch, spooled=False)

    def _spooled(self, batch: Batch) -> None:
        self.stats.spooled(batch.record_count)
        self._settle(batch, spooled=True)

    def _replayed(self, batch: Batch) -> None:
        self.stats.delivered(batch.groups)

    def _resent(self, batch: Batch) -> None:
        self.stats.resent(batch.record_count)

    def _failed(self, batch: Batch) -> None:
        with self._lock:
            if self._remaining.pop(batch.batch_id, None) is None:
                return
        log.warning("Batch %d from %s not delivered; it will be collected again", batch.batch_id, batch.source)
        if batch.batch_id >= 0:
            self._on_ack(Ack(batch_id=batch.batch_id, verdict=Verdict.FAILED))

    def _settle(self, batch: Batch, *, spooled: bool) -> None:
        """Count one output done with `batch`; send its verdict when it was the last."""
        with self._lock:
            entry = self._remaining.get(batch.batch_id)
            if entry is None:
                return
            remaining, any_spooled = entry[0] - 1, entry[1] or spooled
            if remaining:
                self._remaining[batch.batch_id] = (remaining, any_spooled)
                return
            del self._remaining[batch.batch_id]
        if not any_spooled:
            self.stats.delivered(batch.groups)
        if batch.batch_id >= 0:
            self._on_ack(Ack(batch_id=batch.batch_id, verdict=Verdict.SPOOLED if any_spooled else Verdict.DELIVERED))


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
