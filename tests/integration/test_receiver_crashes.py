"""A relay that crashes under load, with the collector as real processes against moto server: the bytes still
unread in the relay's socket buffers die with it, as they do when a real rsyslog or relay process dies, and the
collector sends its replay window and its unacknowledged batches again, so no record is lost. Graceful closes
(recycling, a stop) send nothing again.
"""

from __future__ import annotations

import os
import random
import re
import socket
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devo_sqs.demo.local_aws import LocalAws, QueueSetup
from tests.integration.conftest import input_config, put_objects, wait_until
from tests.support.certs import Pki
from tests.support.collector_process import CollectorProcess
from tests.support.rsyslog_relp import RelpRsyslog
from tests.support.syslog_receiver import ServerTls, SyslogReceiver

OBJECTS = 10
RECORDS_PER_OBJECT = 20_000  # 200,000 records, ~23 MB of frames
RESTART_SECONDS = 0.5  # the relay is down this long before it listens again on the same port
SEED = 20250611
RUNS = int(os.environ.get("DEVO_SQS_CRASH_RUNS", "2"))  # runs of each crash; raise it to hunt for a rare loss


def collector_config(
    tmp_path: Path,
    queue: QueueSetup,
    moto: LocalAws,
    output: dict[str, Any],
    *,
    metrics_port: int | None = None,
    **input_keys: Any,
) -> dict[str, Any]:
    metrics = {"metrics_port": metrics_port, "metrics_address": "127.0.0.1"} if metrics_port else {}
    return {
        "globals": {"persistence": {"config": {"directory_name": str(tmp_path / "state")}}, **metrics},
        "outputs": {"relay": output},
        "inputs": {"sqs_collector": input_config(queue.queue_url, moto.url, **input_keys)},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def resent_metric(port: int) -> float:
    """`devo_sqs_records_resent_total` of the standard manager, from the collector's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(r'^devo_sqs_records_resent_total\{manager="standard"\} (\S+)$', text, re.MULTILINE)
    assert found, text
    return float(found[1])


def relay_output(port: int, **keys: Any) -> dict[str, Any]:
    return {"type": "relay", "address": "127.0.0.1", "port": port, **keys}


def tls_relay_output(pki: Pki, port: int, **keys: Any) -> dict[str, Any]:
    return relay_output(port, chain=str(pki.ca_chain), cert=str(pki.client.cert), key=str(pki.client.key), **keys)


def received(receiver: SyslogReceiver) -> Counter[str]:
    return Counter(frame.message for frame in receiver.frames() if frame.tag.startswith("my.app."))


def relayed(relay: RelpRsyslog) -> Counter[str]:
    found: Counter[str] = Counter()
    for (tag, message), count in relay.records().items():
        if tag.startswith("my.app."):
            found[message] += count
    return found


def drained(moto: LocalAws, queue: QueueSetup) -> bool:
    return moto.queue_depth(queue.queue_url) == (0, 0)


def lost_and_duplicated(got: Counter[str], expected: Counter[str]) -> tuple[int, int]:
    lost = sum(1 for message in expected if message not in got)
    duplicated = sum(count - 1 for message, count in got.items() if count > 1)
    return lost, duplicated


def resent_in_log(log: str) -> tuple[int, int]:
    """(batches announced as sent again in the warning lines, records counted as sent again at shutdown)."""
    batches = sum(int(n) for n in re.findall(r"sending (\d+) batch\(es\) again first", log))
    totals = re.findall(r"Standard - Total number of messages sent: .*?again after a receiver failure: (\d+)", log)
    return batches, int(totals[-1]) if totals else 0


def crash_mid_run(
    receiver: SyslogReceiver,
    expected: Counter[str],
    collector: CollectorProcess,
    *,
    stall_seconds: float,
    rng: random.Random,
) -> int:
    """Let the relay take part of the records, stall it (or not), crash it, start it again: the bytes it left
    unread."""
    target = int(len(expected) * rng.uniform(0.2, 0.6))
    assert wait_until(lambda: receiver.received_count >= target, timeout=120, interval=0.01), collector.log()[-3000:]
    if stall_seconds:
        receiver.stall()
        time.sleep(stall_seconds)
    unread = receiver.crash()
    time.sleep(RESTART_SECONDS)
    receiver.start()
    return unread


def run_through_a_crash(
    moto: LocalAws,
    receiver: SyslogReceiver,
    output: dict[str, Any],
    tmp_path: Path,
    *,
    stall_seconds: float,
    seed: int,
    **input_keys: Any,
) -> tuple[Counter[str], Counter[str], int, str]:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=OBJECTS, records=RECORDS_PER_OBJECT)
    port = free_port()
    config = collector_config(tmp_path, queue, moto, output, metrics_port=port, **input_keys)
    with CollectorProcess(config, directory=tmp_path) as collector:
        unread = crash_mid_run(receiver, expected, collector, stall_seconds=stall_seconds, rng=random.Random(seed))
        assert wait_until(lambda: drained(moto, queue), timeout=120), collector.log()[-3000:]
        wait_until(lambda: set(received(receiver)) >= set(expected), timeout=60)  # what is missing then is lost
        assert wait_until(lambda: resent_metric(port) > 0, timeout=10), collector.log()[-3000:]
        scraped = resent_metric(port)
        assert collector.terminate()[0] == 0
    log = collector.log()
    assert 0 < scraped <= resent_in_log(log)[1]  # /metrics said so too (reported every 2 s)
    return expected, received(receiver), unread, log


def check_nothing_lost(expected: Counter[str], got: Counter[str], unread: int, log: str, *, label: str) -> None:
    lost, duplicated = lost_and_duplicated(got, expected)
    batches, records = resent_in_log(log)
    print(
        f"\n{label}: {sum(expected.values())} records, {unread} bytes unread at the crash, {lost} lost, "
        f"{duplicated} duplicates; the collector sent {batches} batch(es) again, {records} records of its window"
    )
    assert unread > 0, "the relay crashed with nothing unread: the test proved nothing"
    assert lost == 0
    assert set(got) == set(expected)
    assert batches >= 1, log[-3000:]
    assert records >= 1, log[-3000:]


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("stall_seconds", [0.0, 1.0], ids=["dies-at-once", "stalls-1s-then-dies"])
def test_a_relay_that_crashes_under_load_with_bytes_unread_loses_no_record(
    moto: LocalAws, tmp_path: Path, stall_seconds: float, run: int
) -> None:
    with SyslogReceiver() as receiver:
        expected, got, unread, log = run_through_a_crash(
            moto,
            receiver,
            relay_output(receiver.port),
            tmp_path,
            stall_seconds=stall_seconds,
            seed=SEED + run,
        )
    label = f"plain TCP, {'stalls then dies' if stall_seconds else 'dies at once'}, run {run}"
    check_nothing_lost(expected, got, unread, log, label=label)


def test_two_connections_to_a_relay_that_stalls_and_crashes_lose_no_record(moto: LocalAws, tmp_path: Path) -> None:
    """Each connection keeps its share of the window and sends it again on its own next connection."""
    with SyslogReceiver() as receiver:
        expected, got, unread, log = run_through_a_crash(
            moto,
            receiver,
            relay_output(receiver.port, concurrent_connections=2),
            tmp_path,
            stall_seconds=1.0,
            seed=SEED,
        )
    check_nothing_lost(expected, got, unread, log, label="plain TCP, two connections, stalls 1 s then dies")
    assert len(re.findall(r"sending \d+ batch\(es\) again first", log)) >= 2  # both connections sent theirs


@pytest.mark.parametrize(
    ("compressed", "stall_seconds", "receive_buffer_bytes"),
    [(False, 1.0, None), (True, 3.0, 4 << 20)],
    ids=["tls, stalls 1s", "tls+gzip, 4 MiB buffers, stalls 3s"],
)
def test_a_mutual_tls_relay_that_stalls_and_crashes_loses_no_record(
    moto: LocalAws,
    pki: Pki,
    tmp_path: Path,
    compressed: bool,
    stall_seconds: float,
    receive_buffer_bytes: int | None,
) -> None:
    """A relay with a large receive buffer holds seconds of a gzip stream, far more records than its bytes say: a
    4 MiB window covers it because it counts bytes as they went on the wire, not as they were before gzip."""
    tls = ServerTls.from_pki(pki)
    window = {"replay_window_bytes": receive_buffer_bytes} if receive_buffer_bytes else {}
    with SyslogReceiver(tls=tls, gzip_stream=compressed, receive_buffer_bytes=receive_buffer_bytes) as receiver:
        expected, got, unread, log = run_through_a_crash(
            moto,
            receiver,
            tls_relay_output(pki, receiver.port, **window),
            tmp_path,
            stall_seconds=stall_seconds,
            seed=SEED,
            compressed_events=compressed,
        )
    label = f"mutual TLS{' + gzip' if compressed else ''}, stalls {stall_seconds:.0f} s then dies"
    check_nothing_lost(expected, got, unread, log, label=label)


def test_a_relay_that_stalls_under_the_last_records_and_then_crashes_gets_them_again(
    moto: LocalAws, tmp_path: Path
) -> None:
    """The collector has nothing more to send when the relay dies: it must notice the close by itself."""
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=4, records=20_000)
    with SyslogReceiver() as receiver:
        config = collector_config(tmp_path, queue, moto, relay_output(receiver.port))
        with CollectorProcess(config, directory=tmp_path) as collector:
            assert wait_until(lambda: set(received(receiver)) == set(expected), timeout=120), collector.log()[-3000:]
            receiver.stall()
            expected += put_objects(moto, "logs", objects=1, records=5_000, prefix="app/late", first=80_000)
            assert wait_until(lambda: drained(moto, queue), timeout=60), collector.log()[-3000:]
            time.sleep(1.0)  # settled, and idle: nothing more to send
            unread = receiver.crash()
            time.sleep(RESTART_SECONDS)
            receiver.start()
            wait_until(lambda: set(received(receiver)) >= set(expected), timeout=30)
            assert collector.terminate()[0] == 0
        got = received(receiver)
    check_nothing_lost(expected, got, unread, collector.log(), label="stalls under the last records, then dies")


def test_rsyslog_with_imrelp_killed_9_mid_run_and_started_again_loses_no_record(
    moto: LocalAws, relp_rsyslog: RelpRsyslog, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=OBJECTS, records=RECORDS_PER_OBJECT)
    output = {"type": "relp", "address": "127.0.0.1", "port": relp_rsyslog.port}
    config = collector_config(tmp_path, queue, moto, output)
    with CollectorProcess(config, directory=tmp_path) as collector:
        target = int(len(expected) * random.Random(SEED).uniform(0.2, 0.6))
        assert relp_rsyslog.wait_for(target, timeout=120), collector.log()[-3000:]
        relp_rsyslog.kill()
        time.sleep(RESTART_SECONDS)
        relp_rsyslog.start()
        everything = lambda: set(relayed(relp_rsyslog)) >= set(expected)  # noqa: E731
        assert wait_until(everything, timeout=120, interval=0.5), collector.log()[-3000:]
        assert wait_until(lambda: drained(moto, queue), timeout=60), collector.log()[-3000:]
        assert collector.terminate()[0] == 0
    got = relayed(relp_rsyslog)
    lost, duplicated = lost_and_duplicated(got, expected)
    batches, _ = resent_in_log(collector.log())
    print(
        f"\nRELP, rsyslogd killed -9 after {target} records: {sum(expected.values())} records, {lost} lost, "
        f"{duplicated} duplicates; the collector sent {batches} unacknowledged batch(es) again"
    )
    assert lost == 0
    assert set(got) == set(expected)
    assert batches >= 1, collector.log()[-3000:]


def no_resend_in(log: str) -> None:
    assert "again first" not in log
    assert "again after a receiver failure" not in log


def test_connections_recycled_every_second_under_load_send_nothing_again(moto: LocalAws, tmp_path: Path) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=OBJECTS, records=RECORDS_PER_OBJECT)
    with SyslogReceiver() as receiver:
        config = collector_config(
            tmp_path, queue, moto, relay_output(receiver.port, connection_max_age_in_sec=1), puller_threads=1
        )
        with CollectorProcess(config, directory=tmp_path) as collector:
            assert wait_until(lambda: set(received(receiver)) >= set(expected), timeout=120), collector.log()[-3000:]
            assert wait_until(lambda: drained(moto, queue), timeout=60), collector.log()[-3000:]
            assert collector.terminate()[0] == 0
        got, connections = received(receiver), receiver.connections_accepted
    print(f"\nrecycled every second: {sum(expected.values())} records over {connections} connections")
    assert got == expected  # every record exactly once
    assert connections >= 2
    assert receiver.broken_streams == 0
    no_resend_in(collector.log())


def test_a_collector_stopped_mid_run_and_started_again_sends_nothing_twice(moto: LocalAws, tmp_path: Path) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=OBJECTS, records=RECORDS_PER_OBJECT)
    with SyslogReceiver() as receiver:
        config = collector_config(tmp_path, queue, moto, relay_output(receiver.port))
        (tmp_path / "first").mkdir()
        with CollectorProcess(config, directory=tmp_path / "first") as first:
            assert wait_until(lambda: receiver.received_count >= 0.3 * len(expected), timeout=120, interval=0.01)
            assert first.terminate()[0] == 0
        before_restart = sum(received(receiver).values())
        (tmp_path / "second").mkdir()
        with CollectorProcess(config, directory=tmp_path / "second") as second:
            assert wait_until(lambda: set(received(receiver)) >= set(expected), timeout=120), second.log()[-3000:]
            assert wait_until(lambda: drained(moto, queue), timeout=60), second.log()[-3000:]
            assert second.terminate()[0] == 0
        got = received(receiver)
    print(f"\nSIGTERM after {before_restart} records, then a restart: {sum(got.values())} records received")
    assert before_restart < len(expected)
    assert got == expected  # every record exactly once
    no_resend_in(first.log() + second.log())
