"""Logging never blocks collection nor grows memory: with debug_mode tracing every record and nobody reading the
collector's stderr, every record is still delivered, memory stays flat, and the dropped lines are counted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import yaml

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import drained, put_objects, received, relay_config, wait_until
from tests.support.syslog_receiver import SyslogReceiver

RSS_LIMIT = 300 << 20


def tree_rss(pid: int) -> dict[str, int]:
    parent = psutil.Process(pid)
    sizes = {"parent": parent.memory_info().rss}
    for child in parent.children():
        try:
            sizes[child.name()] = child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return sizes


def test_a_stalled_stderr_reader_costs_log_lines_not_records_or_memory(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=6, records=50_000)
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port, debug_mode=True)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    collector = subprocess.Popen(  # stderr is a pipe nobody reads until the end: it fills after 64 KiB
        [sys.executable, "-m", "devo_sqs", "run", str(config_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        start_new_session=True,
    )
    peaks: dict[str, int] = {}
    try:
        delivered = lambda: set(received(syslog_receiver)) == set(expected)  # noqa: E731

        def sampled() -> bool:
            for name, rss in tree_rss(collector.pid).items():
                peaks[name] = max(peaks.get(name, 0), rss)
            return delivered()

        assert wait_until(sampled, timeout=180, interval=0.2)
        assert wait_until(lambda: drained(moto, queue), timeout=60)
        collector.send_signal(signal.SIGTERM)
        lines: list[bytes] = []
        reader = threading.Thread(
            target=lambda: lines.extend(collector.stderr.readlines()) if collector.stderr else None
        )
        reader.start()
        assert collector.wait(60) == 0
        reader.join(60)
    finally:
        if collector.poll() is None:
            os.killpg(collector.pid, signal.SIGKILL)
            collector.wait(10)
    log = b"".join(lines).decode(errors="replace")
    assert received(syslog_receiver) == expected
    assert all(rss < RSS_LIMIT for rss in peaks.values()), peaks
    assert "log line(s) dropped since the last report" in log
    assert log.count("debug_mode: my.app.ndjson.") < sum(expected.values())  # some traces were dropped, not queued
