"""Delivery threads against real sockets: mutual TLS, a rejected client certificate, a receiver that goes away."""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devo_sqs.backoff import Backoff
from devo_sqs.config.models import SyslogOutput
from devo_sqs.messages import Ack, Batch
from devo_sqs.output.delivery import DeliveryThread, Outcomes
from devo_sqs.output.framing import Framer
from devo_sqs.output.managers import SenderManager
from devo_sqs.output.senders.base import OutputError
from devo_sqs.output.senders.syslog import SyslogSender, tls_context
from devo_sqs.output.window import ReplayWindow
from devo_sqs.persistence.spool import Spool
from tests.integration.conftest import wait_until
from tests.support.certs import CertPair, Pki
from tests.support.syslog_receiver import SyslogReceiver


class Recorded:
    """What a delivery thread reported, by batch id."""

    def __init__(self) -> None:
        self.confirmed: list[int] = []
        self.failed: list[int] = []
        self.spooled: list[int] = []
        self.replayed: list[int] = []
        self.resent: list[int] = []
        self.done = threading.Condition()

    def outcomes(self) -> Outcomes:
        return Outcomes(
            confirmed=self.confirm,
            spooled=lambda batch: self.spooled.append(batch.batch_id),
            failed=lambda batch: self.failed.append(batch.batch_id),
            replayed=lambda batch: self.replayed.append(batch.batch_id),
            resent=lambda batch: self.resent.append(batch.batch_id),
        )

    def confirm(self, batch: Batch) -> None:
        with self.done:
            self.confirmed.append(batch.batch_id)
            self.done.notify_all()

    def wait_confirmed(self, count: int, timeout: float) -> bool:
        with self.done:
            return self.done.wait_for(lambda: len(self.confirmed) >= count, timeout)


def batch(batch_id: int, count: int = 100) -> Batch:
    return Batch(batch_id, "standard", "test", [("my.app.test", [b"%d-%d" % (batch_id, n) for n in range(count)])])


FRAMER = Framer(hostname="test-host")


def plain_sender(port: int, **options: Any) -> SyslogSender:
    return SyslogSender(address="127.0.0.1", port=port, framer=FRAMER, **options)


def tls_sender(pki: Pki, port: int, client: CertPair) -> SyslogSender:
    context = tls_context(chain=str(pki.ca_chain), cert=str(client.cert), key=str(client.key))
    return plain_sender(port, tls=context)


@pytest.fixture
def outcomes() -> Recorded:
    return Recorded()


def delivery(sender: SyslogSender, outcomes: Recorded) -> tuple[DeliveryThread, queue.Queue[Batch]]:
    channel: queue.Queue[Batch] = queue.Queue()
    thread = DeliveryThread(
        name="DeliveryTest",
        sender=sender,
        channel=channel,
        outcomes=outcomes.outcomes(),
        window=ReplayWindow(max_bytes=16 << 20, seconds=5.0),
        backoff=Backoff(first_seconds=0.05, max_seconds=0.5),
    )
    thread.start()
    return thread, channel


@pytest.fixture
def stopper() -> Iterator[list[DeliveryThread]]:
    threads: list[DeliveryThread] = []
    yield threads
    for thread in threads:
        thread.stop()
        thread.join(10)


def test_batches_over_mutual_tls_arrive_whole_and_are_confirmed(
    pki: Pki, tls_syslog_receiver: SyslogReceiver, outcomes: Recorded, stopper: list[DeliveryThread]
) -> None:
    thread, channel = delivery(tls_sender(pki, tls_syslog_receiver.port, pki.client), outcomes)
    stopper.append(thread)
    for batch_id in range(20):
        channel.put(batch(batch_id))
    assert outcomes.wait_confirmed(20, timeout=20)
    assert sorted(outcomes.confirmed) == list(range(20))
    assert tls_syslog_receiver.wait_for(2000, timeout=10)
    frames = tls_syslog_receiver.frames()
    assert [frame.message for frame in frames] == [f"{b}-{n}" for b in range(20) for n in range(100)]
    assert {(frame.priority, frame.host, frame.tag) for frame in frames} == {(14, "test-host", "my.app.test")}
    assert tls_syslog_receiver.connections_accepted == 1


def test_a_server_that_rejects_the_client_certificate_is_never_counted_as_delivered(
    pki: Pki, tls_syslog_receiver: SyslogReceiver
) -> None:
    sender = tls_sender(pki, tls_syslog_receiver.port, pki.rogue_client)
    with pytest.raises(OutputError, match=r"rejected|handshake"):
        sender.send([("my.app", [b"lost?"])], timestamp=b"Jan  1 00:00:00")
    assert tls_syslog_receiver.received_count == 0


def test_a_receiver_outage_is_retried_until_every_batch_is_delivered(
    syslog_receiver: SyslogReceiver, outcomes: Recorded, stopper: list[DeliveryThread]
) -> None:
    sender = plain_sender(syslog_receiver.port)
    thread, channel = delivery(sender, outcomes)
    stopper.append(thread)
    channel.put(batch(0))
    assert outcomes.wait_confirmed(1, timeout=10)
    syslog_receiver.stop()
    for batch_id in range(1, 6):
        channel.put(batch(batch_id))
    assert not outcomes.wait_confirmed(6, timeout=1.0)
    syslog_receiver.start()
    assert outcomes.wait_confirmed(6, timeout=20)
    assert sorted(outcomes.confirmed) == list(range(6))
    expected = {f"{b}-{n}" for b in range(6) for n in range(100)}
    assert wait_until(lambda: {frame.message for frame in syslog_receiver.frames()} == expected, timeout=10)
    assert thread.reconnects >= 1
    assert outcomes.failed == []


def test_stopping_while_the_output_is_down_fails_the_batch_back_instead_of_confirming_it(
    syslog_receiver: SyslogReceiver, outcomes: Recorded
) -> None:
    syslog_receiver.stop()
    thread, channel = delivery(plain_sender(syslog_receiver.port), outcomes)
    channel.put(batch(7))
    assert not outcomes.wait_confirmed(1, timeout=0.5)
    thread.stop()
    thread.join(10)
    assert (outcomes.confirmed, outcomes.failed) == ([], [7])


def spooling_delivery(
    sender: SyslogSender, outcomes: Recorded, spool: Spool, *, window: float = 0.3
) -> tuple[DeliveryThread, queue.Queue[Batch]]:
    channel: queue.Queue[Batch] = queue.Queue()
    thread = DeliveryThread(
        name="SpoolTest",
        sender=sender,
        channel=channel,
        outcomes=outcomes.outcomes(),
        window=ReplayWindow(max_bytes=16 << 20, seconds=5.0),
        spool=spool,
        retry_window_seconds=window,
        backoff=Backoff(first_seconds=0.05, max_seconds=0.2),
    )
    thread.start()
    return thread, channel


def test_an_output_down_past_its_retry_window_spools_in_order_and_replays_when_back(
    syslog_receiver: SyslogReceiver, outcomes: Recorded, stopper: list[DeliveryThread], tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 30, label="test")
    syslog_receiver.stop()
    thread, channel = spooling_delivery(plain_sender(syslog_receiver.port), outcomes, spool)
    stopper.append(thread)
    for batch_id in range(5):
        channel.put(batch(batch_id))
    assert wait_until(lambda: len(outcomes.spooled) == 5, timeout=10)
    assert (outcomes.spooled, len(spool), outcomes.confirmed) == ([0, 1, 2, 3, 4], 5, [])
    syslog_receiver.start()
    assert wait_until(lambda: len(outcomes.replayed) == 5, timeout=20)
    assert outcomes.replayed == [0, 1, 2, 3, 4] and len(spool) == 0
    channel.put(batch(5))
    assert outcomes.wait_confirmed(1, timeout=10) and outcomes.confirmed == [5]
    assert syslog_receiver.wait_for(600, timeout=10)
    assert [frame.message for frame in syslog_receiver.frames()] == [f"{b}-{n}" for b in range(6) for n in range(100)]


def test_spooled_batches_survive_a_restart_and_are_sent_first(syslog_receiver: SyslogReceiver, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 30, label="test")
    for batch_id in (10, 11):
        spool.push(batch(batch_id, count=3))
    spool.close()
    reopened = Spool(tmp_path / "spool", max_bytes=1 << 30, label="test")
    outcomes = Recorded()
    thread, _ = spooling_delivery(plain_sender(syslog_receiver.port), outcomes, reopened)
    try:
        assert wait_until(lambda: outcomes.replayed == [10, 11], timeout=10)
    finally:
        thread.stop()
        thread.join(10)
    assert syslog_receiver.wait_for(6, timeout=10)
    assert [frame.message for frame in syslog_receiver.frames()] == ["10-0", "10-1", "10-2", "11-0", "11-1", "11-2"]


def test_a_full_spool_holds_the_batch_unacknowledged_until_the_output_returns(
    syslog_receiver: SyslogReceiver, outcomes: Recorded, stopper: list[DeliveryThread], tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1, label="test")  # full from the start
    syslog_receiver.stop()
    thread, channel = spooling_delivery(plain_sender(syslog_receiver.port), outcomes, spool)
    stopper.append(thread)
    channel.put(batch(1))
    time.sleep(1.5)
    assert (outcomes.spooled, outcomes.confirmed, outcomes.failed) == ([], [], [])
    syslog_receiver.start()
    assert outcomes.wait_confirmed(1, timeout=20)
    assert outcomes.confirmed == [1] and len(spool) == 0


def test_connections_are_recycled_after_their_maximum_age(
    syslog_receiver: SyslogReceiver, outcomes: Recorded, stopper: list[DeliveryThread]
) -> None:
    sender = plain_sender(syslog_receiver.port, max_age_seconds=0.5)
    thread, channel = delivery(sender, outcomes)
    stopper.append(thread)
    channel.put(batch(1))
    assert outcomes.wait_confirmed(1, timeout=10)
    time.sleep(0.7)
    channel.put(batch(2))
    assert outcomes.wait_confirmed(2, timeout=10)
    assert syslog_receiver.wait_for(200, timeout=10)
    assert syslog_receiver.connections_accepted == 2
    assert wait_until(lambda: syslog_receiver.connections_closed >= 1, timeout=5)
    assert syslog_receiver.broken_streams == 0


def test_concurrent_connections_share_an_outputs_batches_and_each_is_acknowledged_once(
    syslog_receiver: SyslogReceiver,
) -> None:
    acks: list[Ack] = []
    outputs = {
        "relay": SyslogOutput(type="relay", address="127.0.0.1", port=syslog_receiver.port, concurrent_connections=2)
    }
    manager = SenderManager("standard", outputs, on_ack=acks.append)
    manager.start()
    try:
        for batch_id in range(12):
            assert manager.submit(batch(batch_id), timeout=10)
        assert wait_until(lambda: len(acks) == 12, timeout=20)
    finally:
        manager.stop()
        manager.join(10)
    assert sorted(ack.batch_id for ack in acks) == list(range(12))
    assert syslog_receiver.wait_for(1200, timeout=10)
    assert sorted(frame.message for frame in syslog_receiver.frames()) == sorted(
        f"{b}-{n}" for b in range(12) for n in range(100)
    )
    assert syslog_receiver.connections_accepted == 2
    assert manager.stats.snapshot()["total"] == 1200


def test_the_monitor_lines_tell_how_long_batches_waited_for_an_output_that_came_up_late(
    syslog_receiver: SyslogReceiver,
) -> None:
    outage_seconds = 1.5
    syslog_receiver.stop()
    acks: list[Ack] = []
    outputs = {"relay": SyslogOutput(type="relay", address="127.0.0.1", port=syslog_receiver.port)}
    manager = SenderManager("standard", outputs, on_ack=acks.append)
    manager.start()
    try:
        for batch_id in range(4):
            assert manager.submit(batch(batch_id, count=10), timeout=10)
        time.sleep(outage_seconds)
        syslog_receiver.start()
        assert wait_until(lambda: len(acks) == 4, timeout=30)
        first, waited, sender, totals = manager.status_lines()
        histogram = manager.snapshot()["enqueued_seconds"]
        assert manager.status_lines()[1] == "enqueued_elapsed_times_in_seconds_stats: {}"  # a new period
    finally:
        manager.stop()
        manager.join(10)
    assert first == (
        "Number of available senders: 1, sender manager internal queue size: 0, emergency persistence: 0 batch(es)"
    )
    figures = ", ".join(rf'"{name}": (\d+\.\d{{3}})' for name in ("min", "max", "mean", "p50", "p90", "p99"))
    shape = rf'enqueued_elapsed_times_in_seconds_stats: \{{"count": 4, {figures}\}}'
    match = re.fullmatch(shape, waited)
    assert match, waited
    low, high, mean, p50, p90, p99 = map(float, match.groups())
    # The sender takes the first batch at once and retries it until the receiver listens; the other three wait
    # in the queue for the whole outage at least.
    assert low <= p50 <= p90 <= p99 == high and low <= mean <= high
    assert p50 >= outage_seconds and mean >= 3 * outage_seconds / 4
    assert sender.startswith("Sender: SyslogSender(standard_senders,relay_0), status: {")
    assert totals.startswith("Standard - Total number of messages sent: 40, ")
    assert histogram["count"] == 4 and histogram["sum"] >= 3 * outage_seconds
    assert dict(histogram["buckets"])[1.0] <= 1  # only the batch taken at once can have waited under a second
