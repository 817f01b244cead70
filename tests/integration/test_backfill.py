"""`devo-sqs backfill` against moto: a bucket of 2,000 pre-existing CloudTrail log files over five days and four
accounts. The counting of all 2,000 happens at the listing and sending level (every message the queue gets, read
back by a QueueReader; moto takes only ~30-50 objects a second end to end); the collector, as a real process,
then collects the backfill of a narrow window."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from devo_sqs.backfill.checkpoint import Checkpoint
from devo_sqs.cli import main
from devo_sqs.demo.local_aws import LocalAws
from devo_sqs.ingest.notifications import parse_notification
from tests.integration.conftest import collected_by_tag, collected_count, input_config, wait_until
from tests.support.cloudtrail_bucket import ACCOUNTS, REGIONS, Bucket, LogFile, fill
from tests.support.collector_process import CollectorProcess
from tests.support.queue_reader import QueueReader
from tests.support.syslog_receiver import SyslogReceiver

BUCKET = "cloudtrail-archive"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture(scope="module")
def bucket(moto_endpoint: LocalAws) -> Bucket:
    """Filled once for the module (~15 s); each test sends to a queue of its own."""
    moto_endpoint.reset()
    return fill(moto_endpoint.client("s3"), BUCKET)


@pytest.fixture
def queue_url(moto_endpoint: LocalAws) -> str:
    url: str = moto_endpoint.client("sqs").create_queue(QueueName=f"backfill-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    return url


def config_file(directory: Path, queue_url: str, endpoint_url: str) -> str:
    config = {
        "globals": {"persistence": {"type": "filesystem", "config": {"directory_name": str(directory / "state")}}},
        "inputs": {"sqs_collector": input_config(queue_url, endpoint_url)},
    }
    path = directory / "backfill.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def keys_in(bodies: list[str]) -> list[str]:
    return [ref.key for body in bodies for ref in parse_notification(body).objects]


def sizes(logs: list[LogFile]) -> int:
    return sum(len(log.body) for log in logs)


@pytest.fixture
def backfill_process(tmp_path: Path) -> Iterator[Any]:
    """Start `python -m devo_sqs backfill ...` as a process of its own; killed by its pid if a test leaves it."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*arguments: str) -> subprocess.Popen[bytes]:
        with (tmp_path / "backfill.out").open("wb") as out, (tmp_path / "backfill.err").open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "devo_sqs", "backfill", *arguments], stdout=out, stderr=err, cwd=tmp_path
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_dry_run_counts_exactly_per_service_and_reports_the_key_no_service_takes(
    bucket: Bucket, queue_url: str, moto_endpoint: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, queue_url, moto_endpoint.url)
    assert main(["backfill", config, "--bucket", BUCKET, "--dry-run"]) == 0
    assert bucket.app is not None and bucket.unclaimed is not None
    app, trails, digests = len(bucket.app.body), sizes(bucket.trails), sizes(bucket.digests)
    assert capsys.readouterr().out.splitlines() == [
        f"Dry run: s3://{BUCKET} (the whole bucket, any time); nothing sent.",
        "Listed 2,010 object(s), 2,010 in the selection (window and --key-regex).",
        "would send (objects, bytes) per service:",
        f"  app_ndjson                     1  {app:>18,}",
        f"  aws_sqs_cloudtrail         2,000  {trails:>18,}",
        f"  total                      2,001  {trails + app:>18,}",
        "skipped by filename_filter_rules (objects, bytes):",
        f"  aws_sqs_cloudtrail             8  {digests:>18,}",
        f"  total                          8  {digests:>18,}",
        f"no service takes 1 key(s) ({len(bucket.unclaimed.body)} bytes), never sent:",
        f"  {bucket.unclaimed.key}",
    ]
    assert moto_endpoint.queue_depth(queue_url) == (0, 0)
    assert not (tmp_path / "state").exists()  # a dry run keeps no checkpoint


def test_since_and_until_announce_exactly_the_objects_in_the_window_listing_only_its_days(
    bucket: Bucket, queue_url: str, moto_endpoint: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, queue_url, moto_endpoint.url)
    window = ["--since", "2024-01-02T22:00", "--until", "2024-01-03T02:00+00:00"]
    with QueueReader(queue_url) as reader:
        assert main(["backfill", config, "--bucket", BUCKET, *window]) == 0
        assert wait_until(reader.caught_up, timeout=60)
    expected = bucket.trails_between(utc(2024, 1, 2, 22), utc(2024, 1, 3, 2))
    assert bucket.app is not None and len(expected) == 8 * (2 + 5)  # 22:24 and 22:52, then 00:00 to 01:52
    assert Counter(keys_in(reader.bodies)) == Counter([log.key for log in expected] + [bucket.app.key])
    out = capsys.readouterr().out.splitlines()
    # the day prefixes 2024/01/02 and 2024/01/03 of each account and region only: 800 log files, 8 digests, 2 others
    assert out[0] == "Listed 810 object(s), 58 in the selection (window and --key-regex)."
    assert out[-1] == (
        f"Backfill finished: 57 object(s) sent by this run, 57 object(s), "
        f"{(sizes(expected) + len(bucket.app.body)) / 1024:.2f} KiB in all, to {queue_url}."
    )


def recorded_in_checkpoint(directory: Path) -> int:
    """Objects the checkpoint counts as sent (read after the backfill process is gone)."""
    [path] = directory.iterdir()
    checkpoint = Checkpoint(path, orjson.loads(path.read_bytes().splitlines()[0])["backfill"])
    checkpoint.close()
    return checkpoint.objects


def test_a_backfill_stopped_then_killed_half_way_sends_each_object_once_but_the_last_batch_before_the_kill(
    bucket: Bucket,
    queue_url: str,
    moto_endpoint: LocalAws,
    tmp_path: Path,
    backfill_process: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    separate = moto_endpoint.client("sqs").create_queue(QueueName=f"separate-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    config = config_file(tmp_path, queue_url, moto_endpoint.url)
    checkpoints = tmp_path / "checkpoints"
    arguments = [config, "--bucket", BUCKET, "--prefix", "AWSLogs/", "--since", "2024-01-01", "--until", "2024-01-06"]
    arguments += ["--queue-url", separate, "--state-dir", str(checkpoints), "--rate", "100"]
    with QueueReader(separate) as reader:
        stopped = backfill_process(*arguments)
        assert wait_until(lambda: reader.count >= 400, timeout=120)
        stopped.send_signal(signal.SIGTERM)
        assert stopped.wait(30) == 1
        assert wait_until(reader.caught_up, timeout=30)
        first = reader.count
        assert first == recorded_in_checkpoint(checkpoints) < 2_000
        last_line = (tmp_path / "backfill.out").read_text().splitlines()[-1]
        assert last_line.startswith(f"Backfill stopped: {first:,} object(s) sent by this run, {first:,} object(s), ")
        assert "Signal 15: stopping after the batch in flight" in (tmp_path / "backfill.err").read_text()

        killed = backfill_process(*arguments)
        assert wait_until(lambda: reader.count >= first + 400, timeout=120)
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        assert wait_until(reader.caught_up, timeout=30)
        sent, recorded = reader.count, recorded_in_checkpoint(checkpoints)
        assert 0 <= sent - recorded <= 10  # the batch SQS took and the checkpoint did not record yet

        assert main(["backfill", *arguments]) == 0
        assert wait_until(reader.caught_up, timeout=60)
        finished = capsys.readouterr().out.splitlines()[-1]
        assert finished.startswith(
            f"Backfill finished: {2_000 - recorded:,} object(s) sent by this run, 2,000 object(s)"
        )

        assert main(["backfill", *arguments]) == 0  # finished: a new run says so and sends nothing
        assert capsys.readouterr().out.startswith("Backfill already finished at ")
        received = Counter(keys_in(reader.bodies))
    assert set(received) == {log.key for log in bucket.trails}
    assert sum(received.values()) == 2_000 + sent - recorded
    assert moto_endpoint.queue_depth(queue_url) == (0, 0)


def test_the_running_collector_delivers_every_record_of_the_window_once_and_skips_what_it_delivered(
    bucket: Bucket,
    queue_url: str,
    moto_endpoint: LocalAws,
    syslog_receiver: SyslogReceiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = {
        "globals": {"persistence": {"type": "filesystem", "config": {"directory_name": str(tmp_path / "state")}}},
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": syslog_receiver.port}},
        "inputs": {"sqs_collector": input_config(queue_url, moto_endpoint.url)},
    }
    account = ACCOUNTS[0]
    in_window = bucket.trails_between(utc(2024, 1, 3, 10), utc(2024, 1, 3, 14), account=account)
    assert bucket.app is not None and bucket.unclaimed is not None and len(in_window) == 8 * len(REGIONS)
    expected: dict[str, list[str]] = {}
    for log in [*in_window, bucket.app]:
        for tag, messages in log.records.items():
            expected.setdefault(tag, []).extend(messages)
    total = sum(len(messages) for messages in expected.values())

    with CollectorProcess(config, directory=tmp_path) as collector:
        window = ["--since", "2024-01-03T10:00", "--until", "2024-01-03T14:00"]
        arguments = ["--bucket", BUCKET, "--prefix", f"AWSLogs/{account}/", "app/", *window]
        assert main(["backfill", str(collector.config_path), *arguments]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[-6:] == [
            "skipped by filename_filter_rules (objects, bytes):",
            f"  aws_sqs_cloudtrail             2  {sizes(bucket.digests[:2]):>18,}",
            f"  total                          2  {sizes(bucket.digests[:2]):>18,}",
            f"no service takes 1 key(s) ({len(bucket.unclaimed.body)} bytes), never sent:",
            f"  {bucket.unclaimed.key}",
            out[-1],
        ]
        assert out[-1].startswith("Backfill finished: 17 object(s) sent by this run, 17 object(s), ")
        assert wait_until(lambda: collected_count(syslog_receiver) >= total, timeout=120), collector.log()[-3000:]
        assert wait_until(lambda: moto_endpoint.queue_depth(queue_url) == (0, 0), timeout=60), collector.log()[-3000:]

        # a wider window announces the same objects again, and one more per region: only those are delivered
        wider = bucket.trails_between(utc(2024, 1, 3, 10), utc(2024, 1, 3, 14, 1), account=account)
        newcomers = [log for log in wider if log not in in_window]
        assert [log.written for log in newcomers] == [utc(2024, 1, 3, 14)] * len(REGIONS)
        for log in newcomers:
            for tag, messages in log.records.items():
                expected.setdefault(tag, []).extend(messages)
        wider_window = ["--since", "2024-01-03T10:00", "--until", "2024-01-03T14:01"]
        arguments = ["--bucket", BUCKET, "--prefix", f"AWSLogs/{account}/", "app/", *wider_window]
        assert main(["backfill", str(collector.config_path), *arguments]) == 0
        assert capsys.readouterr().out.splitlines()[-1].startswith("Backfill finished: 19 object(s) sent by this run")
        assert wait_until(lambda: moto_endpoint.queue_depth(queue_url) == (0, 0), timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: collected_count(syslog_receiver) >= total + 6, timeout=60)
        code, _ = collector.terminate()
    assert code == 0, collector.log()[-3000:]
    received = {tag: Counter(messages) for tag, messages in collected_by_tag(syslog_receiver).items()}
    assert received == {tag: Counter(messages) for tag, messages in expected.items()}
    log = collector.log()
    assert log.count("(already delivered)") == 17
    assert f"Skipped s3://{BUCKET}/{bucket.app.key} (already delivered)" in log
    assert "Traceback" not in log


def test_a_bucket_that_cannot_be_listed_fails_with_one_clear_line(
    queue_url: str, moto_endpoint: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, queue_url, moto_endpoint.url)
    assert main(["backfill", config, "--bucket", "no-such-bucket", "--prefix", "AWSLogs/"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1].startswith(
        "Backfill failed (see the error above): 0 object(s) sent by this run, 0 object(s), 0 B in all; "
    )
    errors = [line.split(" -> ", 1)[1] for line in err.splitlines() if " ERROR " in line]
    assert errors == [
        "listing s3://no-such-bucket/AWSLogs/ failed: An error occurred (NoSuchBucket) when calling the ListObjectsV2 "
        "operation: The specified bucket does not exist"
    ]
    assert moto_endpoint.queue_depth(queue_url) == (0, 0)
