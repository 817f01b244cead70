"""The tuner thread: twenty times a second it tells the concurrency controller (concurrency.py) what happened - the
receives and what they brought, hand-overs that waited for the byte budget, the InputProcess's CPU - and publishes
the limits the receivers and the pullers follow. A line is logged when the limits moved a lot."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from devo_sqs.config.models import MAX_PULLERS
from devo_sqs.ingest.budget import ByteBudget
from devo_sqs.ingest.concurrency import MAX_PER_RECEIVE, AimdController, ChangeLog, Limits, Signals
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.lifecycle import Worker

log = logging.getLogger(__name__)

TICK_SECONDS = 0.05


class SharedLimits:
    """The limits in force. A puller numbered past the concurrency limit waits here until it grows again."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._grown = threading.Condition()

    @property
    def current(self) -> Limits:
        return self._limits

    def publish(self, limits: Limits) -> None:
        with self._grown:
            grown = limits.in_flight > self._limits.in_flight
            self._limits = limits
            if grown:
                self._grown.notify_all()

    def admits(self, index: int, timeout: float) -> bool:
        """True when puller number `index` (from 0) may take a message; waits up to `timeout` for that."""
        if index < self._limits.in_flight:
            return True
        with self._grown:
            return self._grown.wait_for(lambda: index < self._limits.in_flight, timeout)

    def snapshot(self) -> dict[str, int]:
        limits = self._limits
        return {
            "concurrency_limit": limits.in_flight,
            "receive_batch_limit": limits.per_receive,
            "prefetch_limit": limits.ahead,
        }


@dataclass(frozen=True)
class Totals:
    """Running totals at one instant; the difference of two is one step's signals."""

    receives: int
    full: int
    empty: int
    receive_seconds: float
    messages: int
    message_seconds: float
    budget_waits: int
    cpu_seconds: float
    at: float


class ConcurrencyTuner(Worker):
    def __init__(
        self,
        controller: AimdController,
        limits: SharedLimits,
        *,
        counters: InputCounters,
        budget: ByteBudget,
        in_hand: Callable[[], int],
        name: str,
    ) -> None:
        super().__init__(name)
        self.controller = controller
        self.limits = limits
        self._counters = counters
        self._budget = budget
        self._in_hand = in_hand
        self._process = psutil.Process()

    def work(self) -> None:
        log.info("Concurrency: %s", describe(self.controller))
        changes = ChangeLog(self.controller.limits)
        before = self._totals()
        while not self.sleep(TICK_SECONDS):
            now = self._totals()
            limits = self.controller.step(self._signals(before, now))
            if limits != self.limits.current:
                log.debug("Concurrency: %s (%s)", limits, self.controller.reason)
            before = now
            self.limits.publish(limits)
            said = changes.due(limits, now.at)
            if said is not None:
                log.info(
                    "Concurrency: %d message(s) in flight, %d per receive, %d received ahead (was %d, %d, %d): %s",
                    limits.in_flight,
                    limits.per_receive,
                    limits.ahead,
                    said.in_flight,
                    said.per_receive,
                    said.ahead,
                    self.controller.reason,
                )

    def _totals(self) -> Totals:
        counters, cpu = self._counters, self._process.cpu_times()
        return Totals(
            receives=counters.receives,
            full=counters.receives_full,
            empty=counters.receives_empty,
            receive_seconds=counters.receive_seconds,
            messages=counters.messages_handled,
            message_seconds=counters.message_seconds,
            budget_waits=self._budget.waits,
            cpu_seconds=cpu.user + cpu.system,
            at=time.monotonic(),
        )

    def _signals(self, before: Totals, now: Totals) -> Signals:
        full, messages = now.full - before.full, now.messages - before.messages
        seconds = max(1e-3, now.at - before.at)
        return Signals(
            receives=now.receives - before.receives,
            full=full,
            empty=now.empty - before.empty,
            in_hand=self._in_hand(),
            pushback=now.budget_waits > before.budget_waits or self._budget.exhausted,
            cpu_cores=(now.cpu_seconds - before.cpu_seconds) / seconds,
            receive_seconds=(now.receive_seconds - before.receive_seconds) / full if full else 0.0,
            message_seconds=(now.message_seconds - before.message_seconds) / messages if messages else 0.0,
            seconds=seconds,
        )


def describe(controller: AimdController) -> str:
    """What the configuration asks for, as the start-up line says it."""
    in_flight = (
        f"{controller.fixed_in_flight} message(s) in flight (puller_threads)"
        if controller.fixed_in_flight
        else f"up to {MAX_PULLERS} messages in flight, adapting to the queue, the output and the CPU"
    )
    per_receive = (
        f"{controller.fixed_per_receive} per receive (sqs_max_messages)"
        if controller.fixed_per_receive
        else f"up to {MAX_PER_RECEIVE} per receive"
    )
    return f"{in_flight}; {per_receive}"
