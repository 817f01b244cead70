"""The concurrency controller: a backlog grows the limits (doubling from 4 after an idle spell, then by one), the
output's pushback and an idle queue halve them, a busy CPU holds them, the caps hold, and set values stay fixed.
Messages are received ahead only as many as the pullers take during a receive's round trip, twice over."""

from __future__ import annotations

import threading

import pytest

from devo_sqs.ingest.concurrency import AimdController, ChangeLog, Limits, Signals
from devo_sqs.ingest.tuning import SharedLimits

BACKLOG = Signals(receives=2, full=2, in_hand=8)
IDLE = Signals(receives=1, empty=1)
NOTHING = Signals()
PUSHBACK = Signals(receives=2, full=2, in_hand=8, pushback=True)
TRICKLE = Signals(receives=2, full=0, in_hand=1)
MIXED = Signals(receives=3, full=1, in_hand=8)  # one full receive of three: no backlog to speak of
BUSY = Signals(receives=2, full=2, in_hand=8, cpu_cores=0.95)


def run(steps: list[Signals], **settings: int | None) -> list[int]:
    controller = AimdController(
        puller_threads=settings.get("puller_threads"), sqs_max_messages=settings.get("sqs_max_messages")
    )
    return [controller.step(signals).in_flight for signals in steps]


@pytest.mark.parametrize(
    ("steps", "in_flight"),
    [
        ([BACKLOG] * 4, [8, 16, 16, 16]),  # slow start from 4 to the cap of 16
        ([BACKLOG, PUSHBACK, BACKLOG, BACKLOG], [8, 4, 5, 6]),  # then one at a time
        ([BACKLOG] * 2 + [PUSHBACK] * 6, [8, 16, 8, 4, 2, 1, 1, 1]),  # the output's pushback halves, down to one
        ([BACKLOG] * 2 + [IDLE] * 4, [8, 16, 8, 4, 4, 4]),  # an empty long poll halves, down to four
        ([BACKLOG] * 2 + [NOTHING] * 3, [8, 16, 8, 4, 4]),  # nothing received and nothing in hand: idle
        ([PUSHBACK, PUSHBACK, IDLE, BACKLOG, BACKLOG], [2, 1, 1, 2, 4]),  # idle never raises; slow start again
        ([BACKLOG, TRICKLE, MIXED, Signals(in_hand=3)], [8, 8, 8, 8]),  # no backlog, not idle: held
        ([BACKLOG, BUSY, BUSY, BACKLOG], [8, 8, 8, 9]),  # a busy CPU holds and ends slow start
    ],
)
def test_adaptive_limits_follow_the_queue_the_output_and_the_cpu(steps: list[Signals], in_flight: list[int]) -> None:
    assert run(steps) == in_flight


def test_halving_happens_at_most_once_a_second() -> None:
    often = [Signals(receives=2, full=2, in_hand=8, pushback=True, seconds=0.25)] * 9
    assert run([BACKLOG, BACKLOG, *often]) == [8, 16, 8, 8, 8, 8, 4, 4, 4, 4, 2]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([PUSHBACK, PUSHBACK, BACKLOG], [(2, 2), (1, 1), (2, 2)]),  # never more than the pullers take
        ([BACKLOG] * 3, [(8, 8), (16, 10), (16, 10)]),  # and never more than SQS's 10
    ],
)
def test_messages_per_receive_grow_with_the_pullers_up_to_ten(
    steps: list[Signals], expected: list[tuple[int, int]]
) -> None:
    controller = AimdController(puller_threads=None, sqs_max_messages=None)
    assert [(limits.in_flight, limits.per_receive) for limits in map(controller.step, steps)] == expected


@pytest.mark.parametrize(
    ("settings", "limits"),
    [
        ({"puller_threads": 4, "sqs_max_messages": 10}, [(4, 10)] * 4),
        ({"puller_threads": 16, "sqs_max_messages": 1}, [(16, 1)] * 4),
        ({"puller_threads": 3, "sqs_max_messages": None}, [(3, 3)] * 4),  # per receive adapts, within the pullers
        ({"puller_threads": None, "sqs_max_messages": 2}, [(8, 2), (16, 2), (16, 2), (8, 2)]),  # pullers adapt
    ],
)
def test_set_values_are_fixed_whatever_happens(settings: dict[str, int | None], limits: list[tuple[int, int]]) -> None:
    controller = AimdController(**settings)
    steps = [BACKLOG, BACKLOG, BACKLOG, PUSHBACK]
    assert [(limit.in_flight, limit.per_receive) for limit in map(controller.step, steps)] == limits
    assert controller.adaptive == (None in settings.values())


@pytest.mark.parametrize(
    ("receive_seconds", "message_seconds", "ahead"),
    [
        (0.0, 0.0, 10),  # not measured yet: one receive's worth
        (0.04, 0.045, 29),  # small objects at a region's latency: 16 pullers take 14.2 per round trip
        (0.12, 0.06, 40),  # a busy process: four receives' worth, at most
        (0.04, 0.4, 4),  # 16 pullers take 1.6 messages per round trip: 3.2, rounded up
        (0.04, 60.0, 1),  # large objects: hardly any
    ],
)
def test_messages_received_ahead_cover_two_round_trips_of_the_pullers(
    receive_seconds: float, message_seconds: float, ahead: int
) -> None:
    controller = AimdController(puller_threads=16, sqs_max_messages=10)
    limits = controller.step(Signals(receive_seconds=receive_seconds, message_seconds=message_seconds))
    assert (limits.ahead, limits.in_hand) == (ahead, 16 + ahead)


def test_a_line_is_due_once_the_limits_moved_a_lot_and_held_still() -> None:
    def limits(n: int) -> Limits:
        return Limits(in_flight=n, per_receive=min(n, 10), ahead=n)

    changes = ChangeLog(limits(1), settle_seconds=1.0)
    ramp = [(0.0, 2), (0.1, 4), (0.2, 8), (0.3, 16), (0.9, 16), (1.3, 16), (1.5, 16), (2.0, 12), (3.5, 12), (4, 6)]
    said = [(at, n, changes.due(limits(n), at)) for at, n in ramp]
    assert [(at, n, was.in_flight) for at, n, was in said if was is not None] == [(1.3, 16, 1)]
    assert changes.due(limits(6), 5.0) == limits(16)  # 16 -> 6 is far enough apart; 16 -> 12 was not


def test_messages_ahead_moving_do_not_keep_a_line_from_being_due() -> None:
    changes = ChangeLog(Limits(in_flight=4, per_receive=4, ahead=4))
    steps = [(0.0, 40), (0.5, 36), (0.9, 33), (1.2, 35)]
    said = [changes.due(Limits(in_flight=16, per_receive=10, ahead=ahead), at) for at, ahead in steps]
    assert said == [None, None, None, Limits(in_flight=4, per_receive=4, ahead=4)]


def test_pullers_numbered_past_the_limit_wait_until_it_grows() -> None:
    shared = SharedLimits(Limits(in_flight=2, per_receive=2, ahead=2))
    assert [shared.admits(index, 0) for index in range(4)] == [True, True, False, False]
    threading.Timer(0.05, lambda: shared.publish(Limits(in_flight=4, per_receive=4, ahead=4))).start()
    assert shared.admits(3, 10)
    assert shared.snapshot() == {"concurrency_limit": 4, "receive_batch_limit": 4, "prefetch_limit": 4}
