"""Resume as an operator meets it, with the collector as real processes against moto server and a syslog
receiver: a collector killed mid-object and restarted with another routing template and filter resumes at the
right record; an object rewritten under its key starts over; a rewritten object announced by an FDR or AWS
Config notification, which names no content, is collected again rather than taken as already delivered."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path
from typing import Any

import orjson

from devo_sqs.demo.local_aws import LocalAws, QueueSetup
from tests.integration.conftest import input_config, wait_until
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver

KINDS = ("login", "logout", "purchase", "error")
KEY = "app/part-0000.json.gz"
RESUMING = re.compile(r"Resuming s3://logs/app/part-0000\.json\.gz after its first (\d+) record\(s\)")


def record(n: int, *, label: str = "r") -> bytes:
    return orjson.dumps({"id": f"{label}-{n:07d}", "kind": KINDS[n % 4], "user": f"user{n % 5}"})


def ndjson(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


def app_service(*, template: str, dropped: list[str]) -> dict[str, Any]:
    return {
        "app_ndjson": {
            "key_pattern": "^app/",
            "file_format": {"type": "line_split_processor", "config": {"json": True}},
            "record_field_mapping": {"kind": {"keys": ["kind"]}, "user": {"keys": ["user"]}},
            "line_filter_rules": [[{"source": "record", "key": "kind", "type": "in", "value": dropped}]],
            "routing_template": template,
        }
    }


FIRST_SERVICE = app_service(template="my.app.ndjson.[record-kind]", dropped=["error"])
SECOND_SERVICE = app_service(template="my.app.v2.[record-user].[record-kind]", dropped=["error", "logout"])


def selection(lines: list[bytes], service: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(position, tag, message) of each record the service sends: the test's own reading of its config."""
    definition = service["app_ndjson"]
    dropped = set(definition["line_filter_rules"][0][0]["value"])
    chosen = []
    for position, line in enumerate(lines):
        fields = json.loads(line)
        if fields["kind"] not in dropped:
            tag = definition["routing_template"].replace("[record-kind]", fields["kind"])
            chosen.append((position, tag.replace("[record-user]", fields["user"]), line.decode()))
    return chosen


def config(tmp_path: Path, queue: QueueSetup, moto: LocalAws, port: int, services: dict[str, Any]) -> dict[str, Any]:
    return {
        "globals": {
            "persistence": {"config": {"directory_name": str(tmp_path / "state")}},
            "queue_wrap_max_size_in_messages": 1000,
            "debug": True,  # the per-object "Collected" lines the tests read are logged at DEBUG
        },
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": port}},
        "inputs": {
            "sqs_collector": input_config(
                queue.queue_url, moto.url, services=services, sqs_visibility_timeout=10, sqs_max_messages=1
            )
        },
    }


def collected(receiver: SyslogReceiver) -> list[tuple[str, str]]:
    return [(frame.tag, frame.message) for frame in receiver.frames() if frame.tag.startswith("my.app.")]


def settled(receiver: SyslogReceiver, *, quiet_seconds: float = 1.5, timeout: float = 20) -> int:
    """Wait until nothing more arrives for `quiet_seconds` (bytes a killed collector left in its socket); the
    count then."""
    deadline = time.monotonic() + timeout
    count = receiver.received_count
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        if receiver.received_count == count:
            return count
        count = receiver.received_count
    raise AssertionError(f"frames still arriving after {timeout} s")


def drained(moto: LocalAws, queue: QueueSetup) -> bool:
    return moto.queue_depth(queue.queue_url) == (0, 0)


def run_and_kill(
    directory: Path, configuration: dict[str, Any], receiver: SyslogReceiver, *, after_frames: int
) -> CollectorProcess:
    directory.mkdir()
    with CollectorProcess(configuration, directory=directory) as collector:
        assert receiver.wait_for(after_frames, timeout=90), collector.log()[-3000:]
        collector.kill()
    settled(receiver)
    return collector


def test_a_collector_killed_mid_object_and_restarted_with_another_template_and_filter_skips_no_record(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", visibility_timeout=10)
    lines = [record(n) for n in range(200_000)]
    moto.client("s3").put_object(Bucket="logs", Key=KEY, Body=gzip.compress(ndjson(lines), compresslevel=1))
    first_config = config(tmp_path, queue, moto, syslog_receiver.port, FIRST_SERVICE)
    run_and_kill(tmp_path / "first", first_config, syslog_receiver, after_frames=30_000)
    first_run = collected(syslog_receiver)
    assert 30_000 <= len(first_run) < len(selection(lines, FIRST_SERVICE))

    (tmp_path / "second").mkdir()
    second_config = config(tmp_path, queue, moto, syslog_receiver.port, SECOND_SERVICE)
    with CollectorProcess(second_config, directory=tmp_path / "second") as second:
        assert wait_until(lambda: "Collected s3://logs/app/part-0000.json.gz" in second.log(), timeout=120), (
            second.log()[-3000:]
        )
        assert wait_until(lambda: drained(moto, queue), timeout=60), second.log()[-3000:]
        settled(syslog_receiver)
        assert second.terminate()[0] == 0
    resumed = RESUMING.search(second.log())
    assert resumed is not None, second.log()[-3000:]
    resume_at = int(resumed.group(1))
    assert 0 < resume_at < len(lines)

    second_run = collected(syslog_receiver)[len(first_run) :]
    expected_second = [
        (tag, message) for position, tag, message in selection(lines, SECOND_SERVICE) if position >= resume_at
    ]
    assert sorted(second_run) == sorted(expected_second)  # exactly from the resume point on, each record once
    delivered_first = set(first_run)
    before = {(tag, message) for position, tag, message in selection(lines, FIRST_SERVICE) if position < resume_at}
    assert before <= delivered_first  # everything before the resume point had been delivered
    every_message = {message for _, message in first_run + second_run}
    assert {message for _, _, message in selection(lines, SECOND_SERVICE)} <= every_message


def test_an_object_rewritten_under_its_key_between_runs_starts_over(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", visibility_timeout=10)
    s3 = moto.client("s3")
    s3.put_object(Bucket="logs", Key=KEY, Body=gzip.compress(ndjson([record(n) for n in range(150_000)]), 1))
    configuration = config(tmp_path, queue, moto, syslog_receiver.port, FIRST_SERVICE)
    run_and_kill(tmp_path / "first", configuration, syslog_receiver, after_frames=20_000)
    delivered_first = len(collected(syslog_receiver))

    s3.put_bucket_notification_configuration(Bucket="logs", NotificationConfiguration={})  # only the old message
    rewritten = [record(n, label="new") for n in range(30_000)]
    s3.put_object(Bucket="logs", Key=KEY, Body=gzip.compress(ndjson(rewritten), 1))
    (tmp_path / "second").mkdir()
    with CollectorProcess(configuration, directory=tmp_path / "second") as second:
        assert wait_until(lambda: drained(moto, queue), timeout=90), second.log()[-3000:]
        settled(syslog_receiver)
        assert second.terminate()[0] == 0
    second_run = collected(syslog_receiver)[delivered_first:]
    assert sorted(second_run) == sorted((tag, message) for _, tag, message in selection(rewritten, FIRST_SERVICE))
    assert "Resuming" not in second.log()
    assert "Collected s3://logs/app/part-0000.json.gz with app_ndjson: records=30000 sent=22500 filtered=7500" in (
        second.log()
    )


def fdr_notification(bucket: str, key: str, size: int) -> str:
    return json.dumps(
        {
            "cid": "2c1f3e5a",
            "timestamp": 1705406400000,
            "fileCount": 1,
            "totalSize": size,
            "bucket": bucket,
            "pathPrefix": key.rsplit("/", 1)[0],
            "files": [{"path": key, "size": size, "checksum": "0" * 64}],
        }
    )


def config_notification(bucket: str, key: str) -> str:
    return json.dumps(
        {
            "configurationItemDiff": None,
            "s3ObjectKey": key,
            "s3Bucket": bucket,
            "notificationCreationTime": "2024-01-16T12:00:00.000Z",
            "messageType": "ConfigurationHistoryDeliveryCompleted",
            "recordVersion": "1.1",
        }
    )


def test_a_rewritten_object_announced_by_fdr_or_aws_config_is_collected_again_and_the_same_content_is_not(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    s3, sqs = moto.client("s3"), moto.client("sqs")
    s3.create_bucket(Bucket="exports")  # no bucket notification: the messages below are the only ones
    contents = {
        "app/fdr/part-0.json": (
            [record(n, label="fdr-a") for n in range(800)],
            [record(n, label="fdr-b") for n in range(800)],
        ),
        "app/config/history.json": (
            [record(n, label="cfg-a") for n in range(600)],
            [record(n, label="cfg-b") for n in range(600)],
        ),
    }

    def announce(key: str, body: bytes) -> None:
        notification = (
            fdr_notification("exports", key, len(body)) if "fdr" in key else config_notification("exports", key)
        )
        sqs.send_message(QueueUrl=queue.queue_url, MessageBody=notification)

    def expected(version: int) -> list[tuple[str, str]]:
        return sorted(
            (tag, message)
            for lines in contents.values()
            for _, tag, message in selection(lines[version], FIRST_SERVICE)
        )

    configuration = config(tmp_path, queue, moto, syslog_receiver.port, FIRST_SERVICE)
    with CollectorProcess(configuration, directory=tmp_path) as collector:
        for key, (first, _) in contents.items():
            s3.put_object(Bucket="exports", Key=key, Body=ndjson(first))
            announce(key, ndjson(first))
        assert wait_until(lambda: sorted(collected(syslog_receiver)) == expected(0), timeout=60), collector.log()[
            -3000:
        ]
        assert wait_until(lambda: drained(moto, queue), timeout=30)
        for key, (first, second) in contents.items():
            assert len(ndjson(second)) == len(ndjson(first))  # same size: only the content tells them apart
            s3.put_object(Bucket="exports", Key=key, Body=ndjson(second))
            announce(key, ndjson(second))
        assert wait_until(
            lambda: sorted(collected(syslog_receiver)) == sorted(expected(0) + expected(1)), timeout=60
        ), collector.log()[-3000:]
        assert wait_until(lambda: drained(moto, queue), timeout=30)
        for key, (_, second) in contents.items():
            announce(key, ndjson(second))  # the same content again: already delivered
        assert wait_until(lambda: collector.log().count("(already delivered)") == 2, timeout=60), collector.log()[
            -3000:
        ]
        assert wait_until(lambda: drained(moto, queue), timeout=30)
        assert collector.terminate()[0] == 0
    assert sorted(collected(syslog_receiver)) == sorted(expected(0) + expected(1))
    log = collector.log()
    assert "Skipped s3://exports/app/fdr/part-0.json (already delivered)" in log
    assert "Skipped s3://exports/app/config/history.json (already delivered)" in log
