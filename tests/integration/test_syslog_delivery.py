"""Delivery threads against real sockets: mutual TLS, a rejected client certificate, a receiver that goes away."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest

from devo_sqs.backoff import Backoff
from devo_sqs.messages import Batch
from devo_sqs.output.delivery import DeliveryThread
from devo_sqs.output.framing import Framer
from devo_sqs.output.senders.base import OutputError
from devo_sqs.output.senders.syslog import SyslogSender, tls_context
from tests.support.certs import CertPair, Pki
from tests.support.syslog_receiver import SyslogReceiver


class Outcomes:
    def __init__(self) -> None:
        self.confirmed: list[int] = []
        self.abandoned: list[int] = []
        self.done = threading.Condition()

    def confirm(self, batch: Batch) -> None:
        with self.done:
            self.confirmed.append(batch.batch_id)
            self.done.notify_all()

    def abandon(self, batch: Batch) -> None:
        self.abandoned.append(batch.batch_id)

    def wait_confirmed(self, count: int, timeout: float) -> bool:
        with self.done:
            return self.done.wait_for(lambda: len(self.confirmed) >= count, timeout)


def batch(batch_id: int, count: int = 100) -> Batch:
    return Batch(batch_id, "standard", "test", [("my.app.test", [b"%d-%d" % (batch_id, n) for n in range(count)])])


def tls_sender(pki: Pki, port: int, client: CertPair) -> SyslogSender:
    context = tls_context(chain=str(pki.ca_chain), cert=str(client.cert), key=str(client.key))
    return SyslogSender(address="127.0.0.1", port=port, tls=context)


@pytest.fixture
def outcomes() -> Outcomes:
    return Outcomes()


def delivery(sender: SyslogSender, outcomes: Outcomes) -> tuple[DeliveryThread, queue.Queue[Batch]]:
    channel: queue.Queue[Batch] = queue.Queue()
    thread = DeliveryThread(
        name="DeliveryTest",
        sender=sender,
        framer=Framer(hostname="test-host"),
        channel=channel,
        on_confirmed=outcomes.confirm,
        on_abandoned=outcomes.abandon,
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
    pki: Pki, tls_syslog_receiver: SyslogReceiver, outcomes: Outcomes, stopper: list[DeliveryThread]
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
        sender.write(b"<14>Jan  1 00:00:00 h my.app: lost?\n")
    assert tls_syslog_receiver.received_count == 0


def test_a_receiver_outage_is_retried_until_every_batch_is_delivered(
    syslog_receiver: SyslogReceiver, outcomes: Outcomes, stopper: list[DeliveryThread]
) -> None:
    sender = SyslogSender(address="127.0.0.1", port=syslog_receiver.port)
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
    received = {frame.message for frame in syslog_receiver.frames()}
    assert received == {f"{b}-{n}" for b in range(6) for n in range(100)}
    assert thread.reconnects >= 1
    assert outcomes.abandoned == []


def test_stopping_while_the_output_is_down_abandons_the_batch_instead_of_confirming_it(
    syslog_receiver: SyslogReceiver, outcomes: Outcomes
) -> None:
    syslog_receiver.stop()
    thread, channel = delivery(SyslogSender(address="127.0.0.1", port=syslog_receiver.port), outcomes)
    channel.put(batch(7))
    assert not outcomes.wait_confirmed(1, timeout=0.5)
    thread.stop()
    thread.join(10)
    assert (outcomes.confirmed, outcomes.abandoned) == ([], [7])
