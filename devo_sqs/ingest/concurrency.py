"""How many messages the collector works on at once, so that an unset `puller_threads` / `sqs_max_messages` fits
the queue without tuning: additive increase, multiplicative decrease, as TCP sizes its window. Pure logic, stepped
by the tuner thread (tuning.py) with what happened since the last step.

- It grows while the queue has a backlog (receives come back full), the output keeps up (no hand-over waited for
  the byte budget) and the InputProcess has CPU to spare: doubling from 4 after an idle spell (slow start), then
  by one.
- It halves when the output pushes back (down to 1), and when the queue is idle (a long poll came back empty,
  nothing in hand; down to 4); at most once a second, as TCP halves at most once a round trip.
- It holds otherwise: the CPU is busy, the queue drained to a trickle, or no receive finished.

Set, either setting is a fixed cap. Messages are received ahead of a free puller only as many as the pullers take
during one receive's round trip, twice over, and never more than the receives under way at once bring: small
objects never wait for a receive, and large ones are not held back from other collectors sharing the queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from devo_sqs.config.models import MAX_PULLERS

MAX_PER_RECEIVE = 10  # SQS's own limit
CPU_BUSY_CORES = 0.85  # the InputProcess's threads share one interpreter lock: about one core is all they get
SMOOTHING = 0.3  # weight of the newest measurement in the running averages
AHEAD_ROUND_TRIPS = 2.0
RECEIVES_AT_ONCE = 4  # receiver threads: a busy process answers a receive in 2-3 times the network's round trip
DECREASE_INTERVAL_SECONDS = 1.0
RESTART_IN_FLIGHT = 4  # where slow start begins: a backlog after a quiet spell reaches 16 in two doublings


@dataclass(frozen=True)
class Limits:
    in_flight: int  # messages the pullers work on at once, at most
    per_receive: int  # messages one ReceiveMessage asks for, at most
    ahead: int  # messages received ahead, waiting for a free puller, at most

    @property
    def in_hand(self) -> int:
        """Messages received and not yet read to the end (the receivers' room)."""
        return self.in_flight + self.ahead


@dataclass(frozen=True)
class Signals:
    """What happened since the previous step."""

    receives: int = 0  # ReceiveMessage calls that returned
    full: int = 0  # ... with as many messages as asked for: the queue has a backlog
    empty: int = 0  # ... with none: the long poll found the queue empty
    in_hand: int = 0  # messages in hand now, sealed ones included
    pushback: bool = False  # a hand-over waited for the byte budget, or the budget is exhausted
    cpu_cores: float = 0.0  # CPU the InputProcess used (1.0: one core busy throughout)
    receive_seconds: float = 0.0  # mean round trip of the full receives (0: none)
    message_seconds: float = 0.0  # mean time a puller spent on one message (0: none finished)
    seconds: float = 1.0  # how long the step lasted


class AimdController:
    def __init__(self, *, puller_threads: int | None, sqs_max_messages: int | None) -> None:
        self.fixed_in_flight = puller_threads
        self.fixed_per_receive = sqs_max_messages
        self._in_flight = puller_threads or RESTART_IN_FLIGHT
        self._slow_start = True
        self._cpu_cores = 0.0
        self._receive_seconds = 0.0
        self._message_seconds = 0.0
        self._since_decrease = DECREASE_INTERVAL_SECONDS
        self.reason = "starting"  # why the last change happened, for the log line
        self.limits = self._limits()

    @property
    def adaptive(self) -> bool:
        return self.fixed_in_flight is None or self.fixed_per_receive is None

    def step(self, signals: Signals) -> Limits:
        self._cpu_cores = _smooth(self._cpu_cores, signals.cpu_cores)
        if signals.receive_seconds:
            self._receive_seconds = _smooth(self._receive_seconds, signals.receive_seconds)
        if signals.message_seconds:
            self._message_seconds = _smooth(self._message_seconds, signals.message_seconds)
        self._since_decrease += signals.seconds
        if self.fixed_in_flight is None:
            self._in_flight = self._next_in_flight(signals)
        self.limits = self._limits()
        return self.limits

    def _next_in_flight(self, signals: Signals) -> int:
        current = self._in_flight
        if signals.pushback:
            self._slow_start = False
            return self._decrease(current, floor=1, reason="the output pushes back")
        if (signals.empty and not signals.full) or not (signals.receives or signals.in_hand):
            self._slow_start = True  # the next backlog ramps up quickly again
            return self._decrease(current, floor=min(current, RESTART_IN_FLIGHT), reason="the queue is idle")
        with_messages = signals.receives - signals.empty
        if not signals.full or 2 * signals.full < with_messages:
            return current
        if self._cpu_cores >= CPU_BUSY_CORES:
            self._slow_start = False
            return current
        grown = 2 * current if self._slow_start else current + 1
        self.reason = "the queue has a backlog"
        return min(MAX_PULLERS, grown)

    def _decrease(self, current: int, *, floor: int, reason: str) -> int:
        if current <= floor or self._since_decrease < DECREASE_INTERVAL_SECONDS:
            return current
        self.reason, self._since_decrease = reason, 0.0
        return max(floor, current // 2)

    def _limits(self) -> Limits:
        in_flight = self._in_flight
        per_receive = self.fixed_per_receive or min(MAX_PER_RECEIVE, in_flight)
        return Limits(in_flight=in_flight, per_receive=per_receive, ahead=self._ahead(in_flight, per_receive))

    def _ahead(self, in_flight: int, per_receive: int) -> int:
        """What the pullers take during a receive's round trip, twice over, up to what the receivers bring at once;
        one receive's worth until measured."""
        if not (self._receive_seconds and self._message_seconds):
            return per_receive
        taken = in_flight * self._receive_seconds / self._message_seconds
        return min(RECEIVES_AT_ONCE * per_receive, math.ceil(AHEAD_ROUND_TRIPS * taken))


def _smooth(average: float, value: float) -> float:
    return value if not average else average + SMOOTHING * (value - average)


class ChangeLog:
    """When to say that the limits moved: once the concurrency limit doubled or halved since the last line, and
    then held still for `settle_seconds` (a ramp is one line, not one per step; messages ahead move all the time)."""

    def __init__(self, limits: Limits, *, settle_seconds: float = 1.0) -> None:
        self.settle_seconds = settle_seconds
        self._said = limits
        self._current = limits.in_flight
        self._since = 0.0

    def due(self, limits: Limits, now: float) -> Limits | None:
        """The limits last said when a line is due now (then `limits` count as said), else None."""
        if limits.in_flight != self._current:
            self._current, self._since = limits.in_flight, now
            return None
        if now - self._since < self.settle_seconds or not _far_apart(limits.in_flight, self._said.in_flight):
            return None
        said, self._said = self._said, limits
        return said


def _far_apart(a: int, b: int) -> bool:
    return max(a, b) >= 2 * min(a, b)
