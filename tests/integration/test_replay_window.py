"""The replay window of plain TCP/TLS syslog against a real receiver that stalls and crashes: a delivery thread with
a real SyslogSender, batches whose records are numbered, and every record checked at the end."""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devo_sqs.backoff import Backoff
from devo_sqs.messages import Batch
from devo_sqs.output.delivery import DeliveryThread, Outcomes
from devo_sqs.output.framing import Framer
from devo_sqs.output.senders.syslog import SyslogSender
from devo_sqs.output.window import ReplayWindow
from devo_sqs.persistence.spool import Spool
from tests.integration.conftest import wait_until
from tests.support.syslog_receiver import SyslogReceiver

RECORDS_PER_BATCH = 100  # five batches fit in the kernel buffers of a receiver that never read
BATCHES = 8


def batch(batch_id: int, *, records: int = RECORDS_PER_BATCH) -> Batch:
    messages = [b"%d-%d %s" % (batch_id, n, b"x" * 100) for n in range(records)]
    return Batch(batch_id, "standard", "test", [("my.app.test", messages)])


def messages_of(*batch_ids: int, records: int = RECORDS_PER_BATCH) -> set[str]:
    return {message.decode() for batch_id in batch_ids for message in batch(batch_id, records=records).groups[0][1]}


class Settled:
    """Batch ids by outcome, as the delivery thread reported them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_outcome: dict[str, list[int]] = {}

    def outcomes(self) -> Outcomes:
        return Outcomes(**{name: self._recorder(name) for name in Outcomes.__dataclass_fields__})

    def ids(self, outcome: str) -> list[int]:
        with self.lock:
            return list(self.by_outcome.get(outcome, []))

    def _recorder(self, name: str) -> Callable[[Batch], None]:
        def record(batch: Batch) -> None:
            with self.lock:
                self.by_outcome.setdefault(name, []).append(batch.batch_id)

        return record


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    store = Spool(tmp_path / "spool", max_bytes=1 << 30, label="test")
    yield store
    store.close()


def test_spooled_batches_replayed_into_a_relay_that_stalls_and_crashes_arrive_again(
    syslog_receiver: SyslogReceiver, spool: Spool
) -> None:
    settled = Settled()
    channel: queue.Queue[Batch] = queue.Queue()
    thread = DeliveryThread(
        name="ReplayWindowTest",
        sender=SyslogSender(address="127.0.0.1", port=syslog_receiver.port, framer=Framer(hostname="test-host")),
        channel=channel,
        outcomes=settled.outcomes(),
        spool=spool,
        window=ReplayWindow(max_bytes=16 << 20, seconds=5.0),
        retry_window_seconds=0.2,
        backoff=Backoff(first_seconds=0.05, max_seconds=0.2),
    )
    syslog_receiver.stop()
    thread.start()
    try:
        for batch_id in range(5):
            channel.put(batch(batch_id))
        assert wait_until(lambda: settled.ids("spooled") == [0, 1, 2, 3, 4], timeout=20)
        syslog_receiver.start()
        syslog_receiver.stall()  # takes the replayed batches into its kernel buffers and reads none
        assert wait_until(lambda: settled.ids("replayed") == [0, 1, 2, 3, 4], timeout=20)
        assert len(spool) == 0  # acknowledged by the relay's TCP: out of the spool, into the window
        unread = syslog_receiver.crash()
        syslog_receiver.start()
        assert wait_until(
            lambda: messages_of(0, 1, 2, 3, 4) <= {f.message for f in syslog_receiver.frames()}, timeout=20
        )
    finally:
        thread.stop()
        thread.join(10)
    arrived = Counter(frame.message for frame in syslog_receiver.frames())
    assert set(arrived) == messages_of(0, 1, 2, 3, 4)
    assert unread > 0
    assert settled.ids("resent") == [0, 1, 2, 3, 4]
    assert (settled.ids("confirmed"), settled.ids("failed")) == ([], [])


def test_the_window_counts_compressed_bytes_so_it_covers_what_a_relay_holds_of_a_gzip_stream() -> None:
    """256 KiB of window hold two of these batches uncompressed, but all of them as they went on the wire."""
    window = ReplayWindow(max_bytes=256 << 10, seconds=60.0)
    settled = Settled()
    channel: queue.Queue[Batch] = queue.Queue()
    with SyslogReceiver(gzip_stream=True) as receiver:
        receiver.stall()  # every acknowledged byte stays unread
        thread = DeliveryThread(
            name="CompressedWindowTest",
            sender=SyslogSender(
                address="127.0.0.1", port=receiver.port, framer=Framer(hostname="test-host"), compressed=True
            ),
            channel=channel,
            outcomes=settled.outcomes(),
            window=window,
            backoff=Backoff(first_seconds=0.05, max_seconds=0.2),
        )
        thread.start()
        try:
            for batch_id in range(BATCHES):  # ~3 KB each on the wire: all fit in the stalled relay's buffers
                channel.put(batch(batch_id, records=1_000))
                assert wait_until(lambda: len(settled.ids("confirmed")) == batch_id + 1, timeout=10)  # noqa: B023
            assert window.size_bytes < 256 << 10 < sum(batch(n, records=1_000).size_bytes for n in range(BATCHES))
            unread = receiver.crash()
            receiver.start()
            everything = messages_of(*range(BATCHES), records=1_000)
            assert wait_until(lambda: everything <= {f.message for f in receiver.frames()}, timeout=20)
        finally:
            thread.stop()
            thread.join(10)
    assert unread > 0
    assert settled.ids("resent") == list(range(BATCHES))
