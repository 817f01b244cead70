"""Delivery guarantees under faults, with the collector as real processes against moto server and real
sockets: nothing is lost, duplicates stay bounded, poison never loops, shutdown is clean."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from devo_sqs.collector import STOP_BUDGET_SECONDS
from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import (
    WRAP,
    drained,
    duplicates,
    put_objects,
    received,
    relay_config,
    wait_until,
)
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver


def test_kill_9_at_random_points_loses_nothing_and_duplicates_at_most_a_batch_per_interrupted_object(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", visibility_timeout=10)
    expected = put_objects(moto, "logs", objects=8, records=15_000)
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port, sqs_visibility_timeout=10, sqs_max_messages=2)
    rng = random.Random(int(os.environ.get("DEVO_SQS_TEST_SEED", "20241116")))
    kills = 0
    started = time.monotonic()
    for run in range(3):
        collector = (
            CollectorProcess(config, directory=tmp_path / f"run{run}").start()
            if (tmp_path / f"run{run}").mkdir() is None
            else None
        )
        assert collector is not None
        if run < 2:
            target = len(received(syslog_receiver)) + rng.randint(10_000, 40_000)
            wait_until(lambda goal=target: syslog_receiver.received_count >= goal, timeout=60, interval=0.01)
            collector.kill()
            kills += 1
            continue
        assert wait_until(lambda: set(received(syslog_receiver)) >= set(expected), timeout=90), collector.log()[-3000:]
        assert wait_until(lambda: drained(moto, queue), timeout=60), collector.log()[-3000:]
        assert collector.terminate()[0] == 0
    got = received(syslog_receiver)
    assert set(got) == set(expected)
    extra = duplicates(got, expected)
    per_object = Counter(int(json.loads(m)["n"]) // 15_000 for m, count in got.items() for _ in range(count - 1))
    assert all(count <= kills * WRAP for count in per_object.values()), per_object
    print(
        f"\nkill -9 x{kills}: {sum(expected.values())} records, {extra} duplicates "
        f"({dict(per_object)} per object), recovered in {time.monotonic() - started:.1f} s"
    )


def test_a_receiver_down_for_30_seconds_loses_nothing_and_the_spool_drains(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    first = put_objects(moto, "logs", objects=2, records=10_000, prefix="app/first")
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port)
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert syslog_receiver.wait_for(sum(first.values()), timeout=60)
        syslog_receiver.stop()
        outage_started = time.monotonic()
        second = put_objects(moto, "logs", objects=3, records=10_000, prefix="app/second", first=20_000)
        assert wait_until(lambda: drained(moto, queue), timeout=30), collector.log()[-3000:]
        time.sleep(max(0.0, 30 - (time.monotonic() - outage_started)))
        syslog_receiver.start()
        expected = first + second
        assert wait_until(lambda: set(received(syslog_receiver)) == set(expected), timeout=60), collector.log()[-3000:]
        recovered = time.monotonic() - outage_started - 30
        assert collector.terminate()[0] == 0
    log = collector.log()
    assert "go to emergency persistence" in log
    assert "sending" in log and "spooled batch(es) first" in log
    spool_lines = [line for line in log.splitlines() if "Standard - Total number of messages sent" in line]
    assert spool_lines, log[-2000:]
    assert drained(moto, queue)
    print(
        f"\noutage 30 s: {sum(expected.values())} records, {duplicates(received(syslog_receiver), expected)} "
        f"duplicates, spool drained {recovered:.1f} s after the receiver came back"
    )


def test_three_collectors_sharing_one_queue_deliver_every_record_exactly_once(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=30, records=2000)
    collectors = [
        CollectorProcess(
            relay_config(tmp_path, queue, moto, syslog_receiver.port, state=f"state{index}", sqs_max_messages=1),
            directory=(tmp_path / f"pod{index}"),
        )
        for index in range(3)
        if (tmp_path / f"pod{index}").mkdir() is None
    ]
    try:
        for collector in collectors:
            collector.start()
        assert wait_until(lambda: len(received(syslog_receiver)) >= len(expected), timeout=90)
        assert wait_until(lambda: drained(moto, queue), timeout=30)
        assert [collector.terminate()[0] for collector in collectors] == [0, 0, 0]
    finally:
        for collector in collectors:
            collector.kill()
    assert received(syslog_receiver) == expected
    shares = [collector.log().count("Collected s3://logs/app/") for collector in collectors]
    assert sum(shares) == 30 and all(shares), shares
    print(f"\nthree collectors: {sum(expected.values())} records exactly once; objects per collector {shares}")


def test_sigterm_mid_object_exits_0_within_the_stop_budget_and_the_rest_comes_after_a_restart(
    moto: LocalAws, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", visibility_timeout=10)
    expected = put_objects(moto, "logs", objects=1, records=300_000)
    with SyslogReceiver() as receiver:
        config = relay_config(tmp_path, queue, moto, receiver.port, sqs_visibility_timeout=10)
        (tmp_path / "first").mkdir()
        with CollectorProcess(config, directory=tmp_path / "first") as first:
            assert wait_until(lambda: receiver.received_count >= 30_000, timeout=60), first.log()[-3000:]
            code, _ = first.terminate(timeout=STOP_BUDGET_SECONDS + 10)  # raises past the collector's stop budget
        assert code == 0, first.log()[-3000:]
        delivered_before_restart = len(received(receiver))
        assert delivered_before_restart < len(expected)
        assert "handed back to the queue" in first.log()
        (tmp_path / "second").mkdir()
        with CollectorProcess(config, directory=tmp_path / "second") as second:
            assert wait_until(lambda: set(received(receiver)) == set(expected), timeout=90), second.log()[-3000:]
            assert wait_until(lambda: drained(moto, queue), timeout=30)
            assert second.terminate()[0] == 0
        extra = duplicates(received(receiver), expected)
    assert "Resuming s3://logs/app/part-0000.json.gz after its first" in second.log()
    assert extra <= WRAP
    print(
        f"\nSIGTERM mid-object: exit 0 after {delivered_before_restart} records; "
        f"after restart all {len(expected)} delivered, {extra} duplicates"
    )


def test_a_slow_first_object_and_the_small_ones_received_with_it_are_each_collected_once_by_two_collectors(
    moto: LocalAws, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", visibility_timeout=10)
    expected = put_objects(moto, "logs", objects=1, records=10_000)  # through a slow receiver: longer than 10 s
    expected += put_objects(moto, "logs", objects=9, records=50, prefix="app/small", first=1_000_000)
    with SyslogReceiver(read_pause_seconds=0.01) as receiver:
        collectors = []
        for index in range(2):
            config = relay_config(
                tmp_path,
                queue,
                moto,
                receiver.port,
                state=f"state{index}",
                sqs_visibility_timeout=10,
                sqs_max_messages=10,
                puller_threads=2,
            )
            (tmp_path / f"pod{index}").mkdir()
            collectors.append(CollectorProcess(config, directory=tmp_path / f"pod{index}").start())
        try:
            assert wait_until(lambda: set(received(receiver)) == set(expected), timeout=180)
            assert wait_until(lambda: drained(moto, queue), timeout=30)
            assert [collector.terminate()[0] for collector in collectors] == [0, 0]
        finally:
            for collector in collectors:
                collector.kill()
        got = received(receiver)
    assert got == expected  # every record exactly once
    collected = [c.log().count("Collected s3://logs/app/part-0000.json.gz") for c in collectors]
    assert sorted(collected) == [0, 1], collected
    assert any("still in progress: kept invisible for 10 s more" in c.log() for c in collectors)


COLLECTOR_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["sqs:*", "s3:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/app/secret/*"},
    ],
}


def iam_user_keys(moto: LocalAws, name: str, policy: dict[str, Any]) -> dict[str, str]:
    """An IAM user's keys; moto enforces its policy inside `enable_iam_authentication`."""
    iam = moto.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="policy", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


POISON_BODIES = {  # a body with the reason its message fails permanently
    "this is not a notification": "message body is not JSON",
    '{"Records": [{"s3": {"bucket": {"name": "logs"}, "object": {"key": 123}}}]}': "'key' is a number",
    '{"Records": [{"s3": {"bucket": {"name": "logs"}, "object": {"key": null}}}]}': "'key' is null",
    '{"Records": [{"s3": {"bucket": {"name": "logs"}, "object": {"key": ["a", "b"]}}}]}': "'key' is a list",
    '{"Type": "Notification", "Message": 5}': "Message is a number",
    '{"bucket": "logs", "files": [{"path": {"nested": "object"}}]}': "'path' is an object",
}


@pytest.mark.parametrize("dead_letter_queue", [False, True], ids=["no-dlq", "dlq"])
def test_poison_messages_settle_and_never_block_good_ones(
    dead_letter_queue: bool, moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    from moto.core.authorization import enable_iam_authentication

    queue = moto.make_bucket_to_queue(
        "logs", "collector", redrive_dlq=2 if dead_letter_queue else None, visibility_timeout=10
    )
    s3, sqs = moto.client("s3"), moto.client("sqs")
    for body in POISON_BODIES:
        sqs.send_message(QueueUrl=queue.queue_url, MessageBody=body)
    s3.put_object(Bucket="logs", Key="app/deleted.json", Body=b'{"n":-1}\n')
    s3.delete_object(Bucket="logs", Key="app/deleted.json")
    s3.put_object(Bucket="logs", Key="app/secret/denied.json", Body=b'{"n":-2}\n')
    expected = put_objects(moto, "logs", objects=3, records=1000)
    credentials = iam_user_keys(moto, "collector", COLLECTOR_POLICY)
    admin = boto3.client(
        "sqs", endpoint_url=moto.url, region_name="us-east-1", **iam_user_keys(moto, "tester", ADMIN_POLICY)
    )
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    depth = lambda url: sum(  # noqa: E731
        int(value) for value in admin.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values()
    )
    config = relay_config(
        tmp_path,
        queue,
        moto,
        syslog_receiver.port,
        credentials=credentials,
        max_receive_count=2,
        sqs_visibility_timeout=10,
    )
    poison = len(POISON_BODIES) + 2  # and the deleted object, and the object the collector may not read
    with enable_iam_authentication(), CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: received(syslog_receiver) == expected, timeout=60), collector.log()[-3000:]
        if dead_letter_queue:
            assert wait_until(lambda: depth(queue.dlq_url) == poison, timeout=120), collector.log()[-3000:]
            assert wait_until(lambda: depth(queue.queue_url) == 0, timeout=30), collector.log()[-3000:]
        else:  # every poison message deleted; the AccessDenied one stays, retried: an operator can fix IAM
            assert wait_until(lambda: depth(queue.queue_url) == 1, timeout=120), collector.log()[-3000:]
            retried = lambda: collector.log().count("AccessDenied object=s3://logs/app/secret") >= 3  # noqa: E731
            assert wait_until(retried, timeout=90), collector.log()[-3000:]
        assert collector.terminate()[0] == 0
    log = collector.log()
    for reason in [*POISON_BODIES.values(), "NoSuchKey object=s3://logs/app/deleted.json"]:
        assert reason in log, reason
    dropped = [line for line in log.splitlines() if "failed permanently" in line and line.endswith(": deleted")]
    events = [frame.message for frame in syslog_receiver.frames() if frame.tag.endswith(".sqs_collector.error")]
    denied = [line for line in log.splitlines() if "AccessDenied object=s3://logs/app/secret/denied.json" in line]
    if dead_letter_queue:
        assert len(dropped) == 0
        assert all("left to the dead-letter policy" in line for line in denied), denied
    else:
        assert len(dropped) == poison - 1
        assert sum('"event":"message_dropped"' in event for event in events) == poison - 1
        assert all("failed, retrying in" in line for line in denied), denied
    assert any('"event":"access_denied"' in event and '"reason":"AccessDenied"' in event for event in events)
    assert received(syslog_receiver) == expected
    assert "Traceback" not in log


def test_ack_messages_false_delivers_but_never_deletes(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    expected = put_objects(moto, "logs", objects=1, records=100)
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port, ack_messages=False)
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: received(syslog_receiver) == expected, timeout=30)
        time.sleep(1)
        assert collector.terminate()[0] == 0
    assert sum(moto.queue_depth(queue.queue_url)) == 2  # the object's message and the s3:TestEvent
    assert "'messages_deleted': 0," in collector.log()


def test_do_not_send_runs_everything_but_sends_nothing_and_debug_mode_traces_records(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    put_objects(moto, "logs", objects=1, records=3)
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port, do_not_send=True, debug_mode=True)
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: drained(moto, queue), timeout=30)
        assert collector.terminate()[0] == 0
    log = collector.log()
    assert received(syslog_receiver) == Counter()
    assert "do_not_send: batch of 3 record(s) from s3://logs/app/part-0000.json.gz not sent" in log
    assert log.count("debug_mode: my.app.ndjson.") == 3
    assert '"records_sent": 3' in log or "'records_sent': 3," in log


def test_aws_unreachable_is_retried_with_backoff_and_nothing_is_deleted_meanwhile(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    port = _free_port()
    flaky = LocalAws(port=port).start()  # the same moto state, behind an endpoint the test can cut
    try:
        queue = flaky.make_bucket_to_queue("logs", "collector")
        first = put_objects(flaky, "logs", objects=1, records=500)
        flaky.stop()
        config = relay_config(tmp_path, queue, flaky, syslog_receiver.port)
        config["inputs"]["sqs_collector"]["endpoint_url"] = f"http://127.0.0.1:{port}"
        with CollectorProcess(config, directory=tmp_path) as collector:
            assert wait_until(lambda: "Setup failed" in collector.log(), timeout=30)
            flaky = LocalAws(port=port).start()
            assert wait_until(lambda: received(syslog_receiver) == first, timeout=60), collector.log()[-2000:]
            assert wait_until(lambda: drained(flaky, queue), timeout=30)
            flaky.stop()
            assert wait_until(lambda: "Receiving from" in collector.log(), timeout=60)
            flaky = LocalAws(port=port).start()
            second = put_objects(flaky, "logs", objects=1, records=500, first=500, prefix="app/later")
            assert wait_until(lambda: received(syslog_receiver) == first + second, timeout=60), collector.log()[-2000:]
            assert wait_until(lambda: drained(flaky, queue), timeout=30)
            assert collector.terminate()[0] == 0
    finally:
        flaky.stop()
    log = collector.log()
    assert "Setup failed:" in log and "retrying in" in log
    assert "Receiving from http://127.0.0.1" in log and " failed: " in log


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
