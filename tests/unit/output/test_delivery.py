"""The delivery thread's state machine, driven through a StubSender: what is confirmed when, what is sent again after
an abnormal close and what is not after a graceful one, the spool while the output is down, and failures."""

from __future__ import annotations

import errno
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devo_sqs.backoff import Backoff
from devo_sqs.messages import Batch
from devo_sqs.output.delivery import DeliveryThread, Outcomes, State
from devo_sqs.output.senders.stub import StubSender
from devo_sqs.output.window import ReplayWindow
from devo_sqs.persistence.spool import Spool

pytestmark = pytest.mark.timeout(60)

WAIT_SECONDS = 10.0


def batch(batch_id: int, size: int = 100) -> Batch:
    """A batch of one record of `size` bytes that starts with its id."""
    return Batch(batch_id, "standard", "test", [("my.app.test", [f"{batch_id}:".encode().ljust(size, b"x")])])


def ids(sent: list[Any]) -> list[int]:
    """The ids of batches as the stub saw them written."""
    return [int(groups[0][1][0].split(b":")[0]) for groups in sent]


class Recorded:
    """Each outcome the delivery thread reported, as batch ids in order."""

    def __init__(self) -> None:
        self.confirmed: list[int] = []
        self.spooled: list[int] = []
        self.failed: list[int] = []
        self.replayed: list[int] = []
        self.resent: list[int] = []

    def outcomes(self) -> Outcomes:
        def record(into: list[int]) -> Callable[[Batch], None]:
            return lambda batch: into.append(batch.batch_id)

        return Outcomes(
            confirmed=record(self.confirmed),
            spooled=record(self.spooled),
            failed=record(self.failed),
            replayed=record(self.replayed),
            resent=record(self.resent),
        )


def eventually(condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not condition():
            if done.wait(0.002):
                return condition()
        return True
    finally:
        deadline.cancel()


class FullDiskSpool(Spool):
    """A spool on a disk that refuses writes (ENOSPC) while `full` is set."""

    full = True

    def push(self, batch: Batch) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().push(batch)


class Harness:
    """A delivery thread on a StubSender, its channel and what it reported; stopped and joined at the end."""

    def __init__(self) -> None:
        self.threads: list[tuple[DeliveryThread, StubSender]] = []

    def start(
        self,
        sender: StubSender,
        *,
        window: ReplayWindow | None = None,
        spool: Spool | None = None,
        retry_window_seconds: float = 10.0,
        first_retry_seconds: float = 0.02,
        hurry: Callable[[], bool] = lambda: False,
    ) -> tuple[DeliveryThread, queue.Queue[Batch], Recorded]:
        channel: queue.Queue[Batch] = queue.Queue()
        recorded = Recorded()
        thread = DeliveryThread(
            name="DeliveryTest",
            sender=sender,
            channel=channel,
            outcomes=recorded.outcomes(),
            spool=spool,
            window=window if window is not None else ReplayWindow(max_bytes=1 << 20, seconds=60.0),
            retry_window_seconds=retry_window_seconds,
            hurry=hurry,
            backoff=Backoff(first_seconds=first_retry_seconds, max_seconds=max(0.1, first_retry_seconds)),
        )
        thread.restart_delay_seconds = 0.05
        thread.start()
        self.threads.append((thread, sender))
        return thread, channel, recorded

    def stop_all(self) -> None:
        """Stop every thread; a stop waits for the receiver to acknowledge what is in flight, so it does."""
        for thread, sender in self.threads:
            thread.stop()
            sender.refuse(False)
            assert eventually(lambda: sender.acknowledge() or not thread.is_alive())  # noqa: B023


@pytest.fixture
def harness() -> Iterator[Harness]:
    running = Harness()
    yield running
    running.stop_all()


def put(channel: queue.Queue[Batch], *batch_ids: int) -> None:
    for batch_id in batch_ids:
        channel.put(batch(batch_id))


# -- confirming ---------------------------------------------------------------------------------------------------


def test_one_acknowledgement_check_confirms_every_batch_written_before_it(harness: Harness) -> None:
    sender = StubSender()
    thread, channel, recorded = harness.start(sender)
    put(channel, 0, 1, 2, 3, 4)
    assert eventually(lambda: len(sender.sent) == 5)
    assert recorded.confirmed == []
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1, 2, 3, 4])
    assert sender.acknowledgement_reads == [0, 5]  # no batch waited for a check of its own
    assert thread.window is not None and len(thread.window) == 5
    assert (recorded.resent, recorded.failed, sender.connections) == ([], [], 1)


def test_batches_are_confirmed_in_order_as_far_as_the_receiver_acknowledged(harness: Harness) -> None:
    sender = StubSender()
    _, channel, recorded = harness.start(sender)
    put(channel, 0, 1, 2)
    assert eventually(lambda: len(sender.sent) == 3)
    sender.acknowledge(2)
    assert eventually(lambda: recorded.confirmed == [0, 1])
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1, 2])


# -- abnormal and graceful closes -------------------------------------------------------------------------------


def test_an_abnormal_close_sends_the_window_then_the_unconfirmed_batches_first_in_order_before_anything_new(
    harness: Harness,
) -> None:
    sender = StubSender()
    _, channel, recorded = harness.start(sender)
    put(channel, 0, 1, 2)
    assert eventually(lambda: len(sender.sent) == 3)
    sender.acknowledge(2)
    assert eventually(lambda: recorded.confirmed == [0, 1])
    sender.refuse()
    sender.break_connection()
    assert eventually(lambda: recorded.resent == [0, 1])  # counted once, when the connection broke
    put(channel, 3)  # new: waits behind everything sent again
    sender.refuse(False)
    assert eventually(lambda: len(sender.sent) == 7)
    assert ids(sender.sent) == [0, 1, 2, 0, 1, 2, 3]
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1, 2, 3])  # the window's batches are not settled again
    assert (recorded.resent, recorded.failed, sender.connections) == ([0, 1], [], 2)


def test_an_abnormal_close_sends_again_only_what_the_window_still_holds(harness: Harness) -> None:
    sender = StubSender()
    window = ReplayWindow(max_bytes=250, seconds=60.0)
    _, channel, recorded = harness.start(sender, window=window)
    put(channel, 0, 1, 2, 3)  # 100 bytes each: the last 250 bytes reach back into batch 1
    assert eventually(lambda: len(sender.sent) == 4)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1, 2, 3])
    put(channel, 4)
    assert eventually(lambda: len(sender.sent) == 5)
    sender.break_connection()
    assert eventually(lambda: len(sender.sent) == 9)
    assert ids(sender.sent) == [0, 1, 2, 3, 4, 1, 2, 3, 4]
    assert recorded.resent == [1, 2, 3]


def test_a_receiver_that_dies_after_the_last_send_gets_the_window_again_without_new_batches(
    harness: Harness,
) -> None:
    sender = StubSender()
    _, channel, recorded = harness.start(sender)
    put(channel, 0, 1)
    assert eventually(lambda: len(sender.sent) == 2)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1])
    sender.break_connection()  # nothing unconfirmed, nothing new to send: only the idle check can see it
    assert eventually(lambda: len(sender.sent) == 4)
    assert ids(sender.sent) == [0, 1, 0, 1]
    assert (recorded.resent, sender.connections) == ([0, 1], 2)


def test_a_graceful_recycle_sends_nothing_again_and_empties_the_window(harness: Harness) -> None:
    sender = StubSender()
    thread, channel, recorded = harness.start(sender)
    put(channel, 0, 1)
    assert eventually(lambda: len(sender.sent) == 2)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1])
    sender.expired = True
    assert eventually(lambda: sender.graceful_closes == 1)
    assert thread.window is not None and len(thread.window) == 0
    put(channel, 2)
    assert eventually(lambda: len(sender.sent) == 3)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1, 2])
    put(channel, 3)
    assert eventually(lambda: len(sender.sent) == 4)
    sender.break_connection()  # only what the new connection carried goes again
    assert eventually(lambda: len(sender.sent) == 6)
    assert ids(sender.sent) == [0, 1, 2, 3, 2, 3]
    assert (recorded.resent, sender.connections) == ([2], 3)


def test_a_recycle_waits_until_everything_the_connection_carried_is_acknowledged(harness: Harness) -> None:
    sender = StubSender()
    _, channel, recorded = harness.start(sender)
    put(channel, 0)
    assert eventually(lambda: len(sender.sent) == 1)
    sender.expired = True
    assert not eventually(lambda: sender.graceful_closes > 0, timeout=0.3)
    sender.acknowledge()
    assert eventually(lambda: sender.graceful_closes == 1)
    put(channel, 1)
    assert eventually(lambda: len(sender.sent) == 2)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1])
    assert (ids(sender.sent), recorded.resent, sender.connections) == ([0, 1], [], 2)


# -- the replay window --------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_keeps_the_batches_that_cover_the_last_of_its_bytes() -> None:
    window = ReplayWindow(max_bytes=250, seconds=60.0)
    for batch_id in range(4):
        window.keep(batch(batch_id), 100)
    assert window.size_bytes == 300  # the last 250 bytes of the stream reach into batch 1
    assert [taken.batch_id for taken in window.take()] == [1, 2, 3]
    assert (len(window), window.size_bytes) == (0, 0)


def test_a_batch_larger_than_the_window_is_kept_until_a_newer_one_covers_the_window_alone() -> None:
    window = ReplayWindow(max_bytes=100, seconds=60.0)
    window.keep(batch(0), 300)
    assert len(window) == 1
    window.keep(batch(1), 60)
    assert [taken.batch_id for taken in window.take()] == [0, 1]
    window.keep(batch(2), 60)
    window.keep(batch(3), 100)
    assert [taken.batch_id for taken in window.take()] == [3]


def test_the_window_forgets_batches_older_than_its_seconds() -> None:
    clock = Clock()
    window = ReplayWindow(max_bytes=1 << 20, seconds=5.0, clock=clock)
    window.keep(batch(0), 100)
    clock.now += 3.0
    window.keep(batch(1), 100)
    clock.now += 2.5
    assert [taken.batch_id for taken in window.take()] == [1]
    window.keep(batch(2), 100)
    clock.now += 5.5
    window.trim()
    assert (len(window), window.size_bytes) == (0, 0)


def test_a_compact_window_gives_back_the_batches_it_kept_compressed() -> None:
    window = ReplayWindow(max_bytes=1 << 20, seconds=60.0, compact=True)
    kept = [batch(batch_id, size=10_000) for batch_id in range(3)]
    for each in kept:
        window.keep(each, 100)
    assert window.size_bytes == 300
    assert window.take() == kept


@pytest.mark.parametrize(("max_bytes", "seconds"), [(0, 5.0), (1 << 20, 0.0)], ids=["no bytes", "no seconds"])
def test_a_window_of_nothing_keeps_nothing(max_bytes: int, seconds: float) -> None:
    window = ReplayWindow(max_bytes=max_bytes, seconds=seconds)
    window.keep(batch(0), 100)
    assert (window.take(), window.size_bytes) == ([], 0)


def test_a_sender_without_replays_gets_no_window_and_sends_nothing_again_after_a_break(harness: Harness) -> None:
    sender = StubSender(replays=False)  # as RELP: what the relay acknowledged it has
    thread, channel, recorded = harness.start(sender)
    assert thread.window is None
    put(channel, 0, 1)
    assert eventually(lambda: len(sender.sent) == 2)
    sender.acknowledge(1)
    assert eventually(lambda: recorded.confirmed == [0])
    sender.break_connection()
    assert eventually(lambda: len(sender.sent) == 3)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1])
    assert (ids(sender.sent), recorded.resent) == ([0, 1, 1], [])


# -- failures ---------------------------------------------------------------------------------------------------


def test_an_unexpected_error_in_send_fails_back_every_batch_the_thread_held_and_the_thread_goes_on(
    harness: Harness,
) -> None:
    sender = StubSender()
    thread, channel, recorded = harness.start(sender)
    put(channel, 0, 1)
    assert eventually(lambda: len(sender.sent) == 2)
    sender.fail_next_send(RuntimeError("a bug"))
    put(channel, 2)
    assert eventually(lambda: sorted(recorded.failed) == [0, 1, 2])
    put(channel, 3)
    assert eventually(lambda: len(sender.sent) == 3)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [3])
    assert thread.is_alive()
    assert (ids(sender.sent), sender.graceful_closes, sender.connections) == ([0, 1, 3], 1, 2)


def test_an_unexpected_error_while_the_window_goes_again_keeps_the_window_first_after_the_restart(
    harness: Harness,
) -> None:
    sender = StubSender()
    _, channel, recorded = harness.start(sender)
    put(channel, 0, 1)
    assert eventually(lambda: len(sender.sent) == 2)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1])
    put(channel, 2)
    assert eventually(lambda: len(sender.sent) == 3)
    sender.fail_next_send(RuntimeError("a bug"))  # meets the first batch sent again
    sender.break_connection()
    assert eventually(lambda: len(sender.sent) == 5)
    assert ids(sender.sent) == [0, 1, 2, 0, 1]
    assert (recorded.failed, recorded.resent) == ([2], [0, 1])


def test_stopping_while_the_output_is_down_fails_back_what_is_held(harness: Harness) -> None:
    sender = StubSender()
    sender.refuse()
    thread, channel, recorded = harness.start(sender)
    put(channel, 0)
    assert eventually(lambda: thread.reconnects >= 2)
    thread.stop()
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    assert (recorded.confirmed, recorded.failed, sender.sent) == ([], [0], [])


# -- down: the emergency spool ----------------------------------------------------------------------------------


def spool_at(directory: Path, spool_class: type[Spool] = Spool) -> Iterator[Spool]:
    spool = spool_class(directory, max_bytes=1 << 30, label="test")
    yield spool
    spool.close()


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    yield from spool_at(tmp_path / "spool")


@pytest.fixture
def full_disk_spool(tmp_path: Path) -> Iterator[Spool]:
    yield from spool_at(tmp_path / "spool", FullDiskSpool)


def test_down_spools_in_order_and_replays_oldest_first_each_leaving_the_spool_once_acknowledged(
    harness: Harness, spool: Spool
) -> None:
    sender = StubSender()
    sender.refuse()
    _, channel, recorded = harness.start(sender, spool=spool, retry_window_seconds=0.1)
    put(channel, 0, 1, 2)
    assert eventually(lambda: recorded.spooled == [0, 1, 2])
    assert (len(spool), recorded.confirmed) == (3, [])
    sender.refuse(False)
    assert eventually(lambda: len(sender.sent) == 3)
    assert ids(sender.sent) == [0, 1, 2]
    assert len(spool) == 3  # written, not yet acknowledged
    sender.acknowledge(1)
    assert eventually(lambda: recorded.replayed == [0])
    assert len(spool) == 2
    sender.acknowledge()
    assert eventually(lambda: recorded.replayed == [0, 1, 2])
    assert len(spool) == 0
    put(channel, 3)
    assert eventually(lambda: len(sender.sent) == 4)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [3])
    assert (recorded.spooled, recorded.failed) == ([0, 1, 2], [])


def test_spooled_batches_the_receiver_acknowledged_stay_in_the_window(harness: Harness, spool: Spool) -> None:
    sender = StubSender()
    sender.refuse()
    _, channel, recorded = harness.start(sender, spool=spool, retry_window_seconds=0.1)
    put(channel, 0, 1)
    assert eventually(lambda: recorded.spooled == [0, 1])
    sender.refuse(False)
    assert eventually(lambda: len(sender.sent) == 2)
    sender.acknowledge()
    assert eventually(lambda: recorded.replayed == [0, 1] and len(spool) == 0)
    put(channel, 2)
    assert eventually(lambda: len(sender.sent) == 3)
    sender.break_connection()  # the receiver dies with them unread
    assert eventually(lambda: len(sender.sent) == 6)
    assert ids(sender.sent) == [0, 1, 2, 0, 1, 2]
    assert recorded.resent == [0, 1]


def test_an_unexpected_error_replaying_a_spooled_batch_leaves_it_in_the_spool_for_the_next_try(
    harness: Harness, spool: Spool
) -> None:
    sender = StubSender()
    sender.refuse()
    _, channel, recorded = harness.start(sender, spool=spool, retry_window_seconds=0.1)
    put(channel, 0)
    assert eventually(lambda: recorded.spooled == [0])
    sender.fail_next_send(RuntimeError("a bug"))
    sender.refuse(False)
    assert eventually(lambda: len(sender.sent) == 1)  # after the restart
    sender.acknowledge()
    assert eventually(lambda: recorded.replayed == [0])
    assert (len(spool), recorded.failed) == (0, [])


def test_a_spool_that_cannot_be_written_holds_the_batch_and_delivers_it_directly_when_the_output_answers(
    harness: Harness, full_disk_spool: Spool
) -> None:
    sender = StubSender()
    sender.refuse()
    thread, channel, recorded = harness.start(sender, spool=full_disk_spool, retry_window_seconds=0.1)
    put(channel, 0)
    assert eventually(lambda: thread.spool_failing)
    assert (recorded.spooled, recorded.failed, thread.holding()) == ([], [], 1)
    sender.refuse(False)
    assert eventually(lambda: len(sender.sent) == 1)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0])
    assert (recorded.spooled, recorded.failed, len(full_disk_spool)) == ([], [], 0)


def window_waiting_to_go_again(
    harness: Harness, spool: Spool | None, *, hurry: Callable[[], bool] = lambda: False
) -> tuple[DeliveryThread, Recorded]:
    """Batches 0 and 1 acknowledged (in the window), 2 written, then the receiver dies and stays down: the thread
    holds 0 and 1 (settled) and 2 (not) to send again, and waits 5 s before its next try."""
    sender = StubSender()
    thread, channel, recorded = harness.start(sender, spool=spool, first_retry_seconds=5.0, hurry=hurry)
    put(channel, 0, 1)
    assert eventually(lambda: len(sender.sent) == 2)
    sender.acknowledge()
    assert eventually(lambda: recorded.confirmed == [0, 1])
    put(channel, 2)
    assert eventually(lambda: len(sender.sent) == 3)
    sender.refuse()
    sender.break_connection()
    assert eventually(lambda: recorded.resent == [0, 1] and thread.state is State.RETRYING)
    return thread, recorded


def spooled_ids(spool: Spool) -> list[int]:
    found = []
    while (claimed := spool.claim_oldest()) is not None:
        found.append(claimed[1].batch_id)
    return found


def test_stopping_with_the_window_waiting_to_go_again_keeps_it_in_the_spool(harness: Harness, spool: Spool) -> None:
    thread, recorded = window_waiting_to_go_again(harness, spool)
    thread.stop()
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    assert spooled_ids(spool) == [0, 1]  # settled already: kept, not failed back, not dropped
    assert (recorded.failed, recorded.spooled) == ([2], [])


def test_stopping_at_once_with_the_window_waiting_to_go_again_spools_all_of_it(harness: Harness, spool: Spool) -> None:
    hurry = threading.Event()
    thread, recorded = window_waiting_to_go_again(harness, spool, hurry=hurry.is_set)
    hurry.set()
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    assert spooled_ids(spool) == [0, 1, 2]
    assert (recorded.failed, recorded.spooled) == ([], [2])


def test_stopping_with_the_window_waiting_to_go_again_and_no_spool_says_what_may_be_lost(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    thread, recorded = window_waiting_to_go_again(harness, None)
    thread.stop()
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    assert recorded.failed == [2]
    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert errors == [
        "2 batch(es) of the replay window not sent again to stub: what its receiver lost with them is lost"
    ]
