"""The collector as a supervisor of its two processes, under the faults real deployments meet: one child killed,
a signal during a drain, a parent that cannot write its heartbeat. Real processes against moto and real sockets;
every wait has a generous deadline, and nothing here asserts a duration."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import drained, put_objects, received, relay_config, wait_until
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver


def health(config_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devo_sqs", "health", str(config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("victim", ["devo-sqs-input", "devo-sqs-output"])
def test_killing_one_child_under_load_restarts_the_pair_and_every_record_arrives(
    victim: str, moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", visibility_timeout=10)
    expected = put_objects(moto, "logs", objects=6, records=20_000)
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port, sqs_visibility_timeout=10)
    with CollectorProcess(config, directory=tmp_path) as collector:
        first = collector.child(victim)
        assert syslog_receiver.wait_for(10_000, timeout=60), collector.log()[-3000:]
        first.kill()
        assert wait_until(lambda: collector.child(victim).pid != first.pid, timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: set(received(syslog_receiver)) == set(expected), timeout=120), collector.log()[-3000:]
        assert wait_until(lambda: drained(moto, queue), timeout=60), collector.log()[-3000:]
        assert collector.terminate(timeout=60)[0] == 0
    log = collector.log()
    side = victim.removeprefix("devo-sqs-")
    assert f"The {side} process exited unexpectedly (exit code -9)" in log
    assert "Restarting both processes (restart 1 within 300 s)" in log
    assert log.count("Started the output process") == 2


def test_a_child_that_keeps_dying_ends_the_collector_with_exit_1(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port)
    with CollectorProcess(config, directory=tmp_path) as collector:
        for _ in range(6):
            victim = collector.child("devo-sqs-output", timeout=60)
            victim.kill()
            victim.wait(30)
        code, _ = collector.wait(timeout=90)
    assert code == 1, collector.log()[-3000:]
    log = collector.log()
    assert log.count("The output process exited unexpectedly (exit code -9)") == 6
    assert "5 restarts within 300 s: giving up" in log


def test_sighup_drains_like_sigterm(moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=2, records=1000)
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port)
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: received(syslog_receiver) == expected, timeout=60), collector.log()[-3000:]
        collector.signal(signal.SIGHUP)
        code, _ = collector.wait(timeout=60)
    assert code == 0
    log = collector.log()
    assert "Stopping the input process" in log and "Stopping the output process" in log
    assert log.count("Process stopped") == 2


def test_a_second_signal_during_a_drain_stops_at_once_with_exit_3(moto: LocalAws, tmp_path: Path) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    put_objects(moto, "logs", objects=4, records=20_000)
    with SyslogReceiver(read_pause_seconds=30.0) as stalled:  # accepts, then reads almost nothing
        config = relay_config(tmp_path, queue, moto, stalled.port)
        with CollectorProcess(config, directory=tmp_path) as collector:
            assert stalled.wait_for(1, timeout=60), collector.log()[-3000:]  # batches are in flight, unacknowledged
            collector.signal(signal.SIGTERM)
            assert wait_until(lambda: "Stopping the input process" in collector.log(), timeout=30)
            collector.signal(signal.SIGTERM)
            code, _ = collector.wait(timeout=60)
    assert code == 3, collector.log()[-3000:]
    log = collector.log()
    assert "Second stop request: stopping at once" in log
    assert "Stopping at once: what is held goes to emergency persistence" in log


def test_a_heartbeat_that_cannot_be_written_is_logged_and_reported_while_collection_goes_on(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=2, records=500)
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port)
    heartbeat = tmp_path / "state" / "heartbeat"
    heartbeat.mkdir(parents=True)  # the parent's writes of it fail, as on a read-only volume
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: received(syslog_receiver) == expected, timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: "Cannot write the heartbeat" in collector.log(), timeout=30)
        verdict = health(collector.config_path)
        assert collector.terminate(timeout=60)[0] == 0
    assert verdict.returncode == 1
    assert verdict.stderr.startswith(f"Unhealthy: cannot read the heartbeat {heartbeat}")
    assert "Traceback" not in collector.log()


def test_health_says_collection_stalled_when_nothing_settles_with_messages_in_flight(
    moto: LocalAws, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    put_objects(moto, "logs", objects=2, records=20_000)
    with SyslogReceiver(read_pause_seconds=30.0) as stalled:
        config = relay_config(tmp_path, queue, moto, stalled.port, stall_seconds=10, batch_deadline_seconds=600)
        with CollectorProcess(config, directory=tmp_path) as collector:
            assert wait_until(lambda: health(collector.config_path).returncode == 0, timeout=60), collector.log()[
                -3000:
            ]
            assert wait_until(lambda: "collection stalled" in health(collector.config_path).stderr, timeout=90)
            verdict = health(collector.config_path)
            collector.signal(signal.SIGTERM)
            collector.signal(signal.SIGTERM)
            collector.wait(timeout=60)
    assert verdict.returncode == 1
    assert verdict.stderr.startswith("Unhealthy: collection stalled: ")
    assert "(stall_seconds 10)" in verdict.stderr


def test_a_spool_that_cannot_be_written_holds_the_batches_and_they_arrive_when_the_output_returns(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    syslog_receiver.stop()
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port)
    config["outputs"]["relay"]["spool_after_in_sec"] = 0
    with CollectorProcess(config, directory=tmp_path) as collector:
        output = collector.child("devo-sqs-output")
        assert wait_until(lambda: "Nothing retrieved from the persistence" in collector.log(), timeout=60)
        resource.prlimit(output.pid, resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))  # a full disk, for it alone
        expected = put_objects(moto, "logs", objects=3, records=2000)
        assert wait_until(lambda: "emergency persistence cannot be written" in collector.log(), timeout=60), (
            collector.log()[-3000:]
        )
        assert wait_until(lambda: "cannot be written" in health(collector.config_path).stderr, timeout=30)
        assert sum(moto.queue_depth(queue.queue_url)) >= 3  # nothing was deleted meanwhile
        syslog_receiver.start()
        assert wait_until(lambda: set(received(syslog_receiver)) == set(expected), timeout=90), collector.log()[-3000:]
        assert wait_until(lambda: drained(moto, queue), timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: health(collector.config_path).returncode == 0, timeout=30)
        assert collector.terminate(timeout=60)[0] == 0
    log = collector.log()
    assert log.count("emergency persistence cannot be written") == 1  # one line a minute, not one per retry
    assert "Traceback" not in log
