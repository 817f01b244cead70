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

from devo_sqs.demo.local_aws import LocalAws, QueueSetup
from tests.integration.conftest import input_config, ndjson_object, wait_until
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver

WRAP = 1000  # records per batch: duplicates are bounded in batches


def put_objects(
    moto: LocalAws, bucket: str, *, objects: int, records: int, prefix: str = "app", first: int = 0
) -> Counter[str]:
    """NDJSON objects of distinct records numbered from `first`; returns every expected message."""
    expected: Counter[str] = Counter()
    for index in range(objects):
        body, per_tag = ndjson_object(first + index * records, records)
        moto.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/part-{index:04d}.json.gz", Body=body)
        expected.update(message for messages in per_tag.values() for message in messages)
    return expected


def relay_config(
    tmp_path: Path,
    queue: QueueSetup,
    moto: LocalAws,
    port: int,
    *,
    state: str = "state",
    debug: bool = False,  # the per-object "Collected" lines are logged at DEBUG
    **input_keys: Any,
) -> dict[str, Any]:
    return {
        "globals": {
            "persistence": {"config": {"directory_name": str(tmp_path / state)}},
            "queue_wrap_max_size_in_messages": WRAP,
            "debug": debug,
        },
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": port, "spool_after_in_sec": 2}},
        "inputs": {"sqs_collector": input_config(queue.queue_url, moto.url, **input_keys)},
    }


def received(receiver: SyslogReceiver) -> Counter[str]:
    return Counter(frame.message for frame in receiver.frames() if frame.tag.startswith("my.app."))


def drained(moto: LocalAws, queue: QueueSetup) -> bool:
    return moto.queue_depth(queue.queue_url) == (0, 0)


def duplicates(got: Counter[str], expected: Counter[str]) -> int:
    return sum(count - 1 for message, count in got.items() if message in expected and count > 1)


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
            relay_config(
                tmp_path, queue, moto, syslog_receiver.port, state=f"state{index}", debug=True, sqs_max_messages=1
            ),
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


def test_sigterm_mid_object_exits_0_within_15_seconds_and_the_rest_comes_after_a_restart(
    moto: LocalAws, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", visibility_timeout=10)
    expected = put_objects(moto, "logs", objects=1, records=300_000)
    with SyslogReceiver() as receiver:
        config = relay_config(tmp_path, queue, moto, receiver.port, sqs_visibility_timeout=10)
        (tmp_path / "first").mkdir()
        with CollectorProcess(config, directory=tmp_path / "first") as first:
            assert wait_until(lambda: receiver.received_count >= 30_000, timeout=60), first.log()[-3000:]
            code, seconds = first.terminate()
        assert (code, seconds < 15) == (0, True), first.log()[-3000:]
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
        f"\nSIGTERM mid-object: exit 0 in {seconds:.1f} s after {delivered_before_restart} records; "
        f"after restart all {len(expected)} delivered, {extra} duplicates"
    )


def test_an_object_slower_than_the_visibility_timeout_is_not_collected_twice(moto: LocalAws, tmp_path: Path) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", visibility_timeout=10)
    expected = put_objects(moto, "logs", objects=1, records=400_000)  # batches of 500, one in flight: > 12 s
    with SyslogReceiver() as receiver:
        collectors = []
        for index in range(2):
            config = relay_config(
                tmp_path, queue, moto, receiver.port, state=f"state{index}", debug=True, sqs_visibility_timeout=10
            )
            config["globals"]["queue_wrap_max_size_in_messages"] = 500
            (tmp_path / f"pod{index}").mkdir()
            collectors.append(CollectorProcess(config, directory=tmp_path / f"pod{index}").start())
        started = time.monotonic()
        try:
            assert wait_until(lambda: set(received(receiver)) == set(expected), timeout=120)
            took = time.monotonic() - started
            assert wait_until(lambda: drained(moto, queue), timeout=30)
            assert [collector.terminate()[0] for collector in collectors] == [0, 0]
        finally:
            for collector in collectors:
                collector.kill()
        got = received(receiver)
    assert got == expected
    collected = [c.log().count("Collected s3://logs/app/part-0000.json.gz") for c in collectors]
    assert sorted(collected) == [0, 1], collected
    assert took > 12, f"the object took {took:.1f} s: too fast to prove anything"
    assert any("still in progress: kept invisible for 10 s more" in c.log() for c in collectors)
    print(
        f"\nslow object: {len(expected)} records exactly once across two collectors (visibility 10 s), "
        f"took {took:.1f} s"
    )


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


@pytest.mark.parametrize("dead_letter_queue", [False, True], ids=["no-dlq", "dlq"])
def test_poison_messages_never_loop_and_never_block_good_ones(
    dead_letter_queue: bool, moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    from moto.core.authorization import enable_iam_authentication

    queue = moto.make_bucket_to_queue("logs", "collector", redrive_dlq=2 if dead_letter_queue else None)
    s3, sqs = moto.client("s3"), moto.client("sqs")
    sqs.send_message(QueueUrl=queue.queue_url, MessageBody="this is not a notification")
    s3.put_object(Bucket="logs", Key="app/deleted.json", Body=b'{"n":-1}\n')
    s3.delete_object(Bucket="logs", Key="app/deleted.json")
    s3.put_object(Bucket="logs", Key="app/secret/denied.json", Body=b'{"n":-2}\n')
    expected = put_objects(moto, "logs", objects=3, records=1000)
    credentials = iam_user_keys(moto, "collector", COLLECTOR_POLICY)
    admin = boto3.client(
        "sqs", endpoint_url=moto.url, region_name="us-east-1", **iam_user_keys(moto, "tester", ADMIN_POLICY)
    )
    depth = admin.get_queue_attributes
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    empty = lambda url: all(v == "0" for v in depth(QueueUrl=url, AttributeNames=names)["Attributes"].values())  # noqa: E731
    config = relay_config(tmp_path, queue, moto, syslog_receiver.port, credentials=credentials, max_receive_count=2)
    started = time.monotonic()
    with enable_iam_authentication(), CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: received(syslog_receiver) == expected, timeout=30), collector.log()[-3000:]
        good_after = time.monotonic() - started
        assert wait_until(lambda: empty(queue.queue_url), timeout=90), collector.log()[-3000:]
        in_dlq = (
            int(depth(QueueUrl=queue.dlq_url, AttributeNames=names[:1])["Attributes"][names[0]]) if queue.dlq_url else 0
        )
        assert collector.terminate()[0] == 0
    log = collector.log()
    reasons = [
        "message body is not JSON",
        "NoSuchKey object=s3://logs/app/deleted.json",
        "AccessDenied object=s3://logs/app/secret/denied.json",
    ]
    for reason in reasons:
        assert reason in log, reason
    dropped = [line for line in log.splitlines() if "failed permanently" in line and line.endswith("; deleted")]
    if dead_letter_queue:
        assert (len(dropped), in_dlq) == (0, 3)
        assert "left to the dead-letter policy" in log
    else:
        assert (len(dropped), in_dlq) == (3, 0)
        events = [frame.message for frame in syslog_receiver.frames() if frame.tag.endswith(".sqs_collector.error")]
        assert sum('"event":"message_dropped"' in event for event in events) == 3
        assert any('"key":"app/secret/denied.json","reason":"AccessDenied"' in event for event in events)
    assert received(syslog_receiver) == expected
    print(
        f"\npoison ({'dlq' if dead_letter_queue else 'no dlq'}): good records delivered after {good_after:.1f} s; "
        f"3 poison messages {'moved to the DLQ' if dead_letter_queue else 'deleted after 2 receives'} "
        f"in {time.monotonic() - started:.1f} s"
    )


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
