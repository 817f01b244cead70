"""The in-memory S3 + SQS endpoint (tests/support/memory_aws.py) answers boto3 as S3 and SQS do, proved with plain
boto3 calls; and the collector drains a backlog of small objects from it, as the benchmark has it do, with its
concurrency growing on the backlog when puller_threads and sqs_max_messages are left unset."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from devo_sqs.ingest.concurrency import RESTART_IN_FLIGHT
from devo_sqs.ingest.notifications import parse_notification
from tests.integration.conftest import collected_by_tag, sample, wait_until
from tests.integration.test_metrics import free_port, scrape
from tests.support.collector_process import CollectorProcess
from tests.support.memory_aws import MemoryAws, MemoryAwsProcess
from tests.support.syslog_receiver import SyslogReceiver

pytestmark = pytest.mark.timeout(120)

ODD_KEY = "AWSLogs/111122223333/CloudTrail/us-east-1/a b+c:d é~(1).json.gz"


@pytest.fixture
def aws() -> Iterator[MemoryAws]:
    with MemoryAws() as endpoint:
        yield endpoint


@pytest.fixture
def sqs(aws: MemoryAws) -> Any:
    return aws.client("sqs")


@pytest.fixture
def s3(aws: MemoryAws) -> Any:
    return aws.client("s3")


@pytest.fixture
def queue_url(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    return url


def receive(sqs: Any, queue_url: str, **arguments: Any) -> list[dict[str, Any]]:
    arguments = {"MaxNumberOfMessages": 10, "WaitTimeSeconds": 0, **arguments}
    messages: list[dict[str, Any]] = sqs.receive_message(QueueUrl=queue_url, **arguments).get("Messages", [])
    return messages


def depth(sqs: Any, queue_url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"], exc.value.response["Error"]["Code"]


# --- SQS ------------------------------------------------------------------------------------------------


def test_a_received_message_carries_its_body_its_md5_and_the_attributes_asked_for(sqs: Any, queue_url: str) -> None:
    body = '{"note": "ünïcode ✓"}'
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    (message,) = receive(sqs, queue_url, MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"])
    assert message["Body"] == body
    assert message["MessageId"] == sent["MessageId"]
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sorted(message["Attributes"]) == ["ApproximateReceiveCount", "SentTimestamp"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(message["Attributes"]["SentTimestamp"]) > 1_700_000_000_000


def test_a_received_message_stays_hidden_until_it_is_deleted(sqs: Any, queue_url: str) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody="one")
    (message,) = receive(sqs, queue_url)  # the queue's VisibilityTimeout, 45 s
    assert receive(sqs, queue_url) == []
    assert depth(sqs, queue_url) == (0, 1)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert depth(sqs, queue_url) == (0, 0)


def test_at_most_max_number_of_messages_come_back_oldest_first(sqs: Any, queue_url: str) -> None:
    entries = [{"Id": f"m{n}", "MessageBody": f"body {n}"} for n in range(10)]
    sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    sqs.send_message(QueueUrl=queue_url, MessageBody="body 10")
    first = receive(sqs, queue_url, MaxNumberOfMessages=4)
    rest = receive(sqs, queue_url)
    assert [m["Body"] for m in first] == [f"body {n}" for n in range(4)]
    assert [m["Body"] for m in rest] == [f"body {n}" for n in range(4, 11)]


def test_an_expired_message_is_delivered_again_with_a_new_handle_and_only_that_handle_deletes_it(
    sqs: Any, queue_url: str
) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody="again")
    (first,) = receive(sqs, queue_url, VisibilityTimeout=1)
    # a long poll wakes when the message becomes visible again
    (second,) = receive(sqs, queue_url, WaitTimeSeconds=20, MessageSystemAttributeNames=["All"])
    assert second["MessageId"] == first["MessageId"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"])  # accepted, as SQS does...
    assert depth(sqs, queue_url) == (0, 1)  # ...but a stale handle deletes nothing
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=second["ReceiptHandle"])
    assert depth(sqs, queue_url) == (0, 0)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=second["ReceiptHandle"])  # deleting twice is fine too


def test_a_long_poll_wakes_when_a_message_arrives(aws: MemoryAws, sqs: Any, queue_url: str) -> None:
    got: list[list[dict[str, Any]]] = []
    poll = threading.Thread(target=lambda: got.append(receive(sqs, queue_url, WaitTimeSeconds=20)))
    poll.start()
    assert wait_until(lambda: aws.stats()["queues"]["work"]["waiting"] == 1, timeout=10)
    sqs.send_message(QueueUrl=queue_url, MessageBody="wake up")
    poll.join(30)
    assert [[m["Body"] for m in messages] for messages in got] == [["wake up"]]


def test_closing_a_queue_ends_its_long_polls_and_keeps_its_messages(aws: MemoryAws, sqs: Any, queue_url: str) -> None:
    got: list[list[dict[str, Any]]] = []
    poll = threading.Thread(target=lambda: got.append(receive(sqs, queue_url, WaitTimeSeconds=20)))
    poll.start()
    assert wait_until(lambda: aws.stats()["queues"]["work"]["waiting"] == 1, timeout=10)
    aws.close_queue(queue_url)
    poll.join(10)  # well before its 20 s poll would end
    assert (poll.is_alive(), got) == (False, [[]])
    sqs.send_message(QueueUrl=queue_url, MessageBody="kept")
    assert [m["Body"] for m in receive(sqs, queue_url, WaitTimeSeconds=20)] == ["kept"]


def test_visibility_changed_to_zero_shows_the_message_at_once(sqs: Any, queue_url: str) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody="back")
    (message,) = receive(sqs, queue_url)
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    (again,) = receive(sqs, queue_url, MessageSystemAttributeNames=["ApproximateReceiveCount"])
    assert (again["Body"], again["Attributes"]["ApproximateReceiveCount"]) == ("back", "2")
    with pytest.raises(ClientError) as stale:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=5)
    assert error_of(stale) == (400, "InvalidParameterValue")


def test_visibility_of_a_message_not_in_flight_cannot_change(sqs: Any, queue_url: str) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody="short")
    (message,) = receive(sqs, queue_url, VisibilityTimeout=0)
    with pytest.raises(sqs.exceptions.MessageNotInflight) as exc:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=9)
    assert error_of(exc) == (400, "AWS.SimpleQueueService.MessageNotInflight")


def test_a_batch_delete_deletes_the_good_entries_and_reports_each_bad_one(sqs: Any, queue_url: str) -> None:
    sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}]
    )
    first, second = receive(sqs, queue_url)
    entries = [
        {"Id": "first", "ReceiptHandle": first["ReceiptHandle"]},
        {"Id": "forged", "ReceiptHandle": "not-a-handle"},
        {"Id": "second", "ReceiptHandle": second["ReceiptHandle"]},
    ]
    response = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    assert response["Successful"] == [{"Id": "first"}, {"Id": "second"}]
    assert response["Failed"] == [
        {
            "Id": "forged",
            "SenderFault": True,
            "Code": "ReceiptHandleIsInvalid",
            "Message": 'The input receipt handle "not-a-handle" is not a valid receipt handle.',
        }
    ]
    assert depth(sqs, queue_url) == (0, 0)


def test_a_batch_visibility_change_reports_each_entry_that_fails(sqs: Any, queue_url: str) -> None:
    sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}]
    )
    hidden, shown = receive(sqs, queue_url)
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=shown["ReceiptHandle"], VisibilityTimeout=0)
    entries = [
        {"Id": "hidden", "ReceiptHandle": hidden["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "shown", "ReceiptHandle": shown["ReceiptHandle"], "VisibilityTimeout": 30},
    ]
    response = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
    assert response["Successful"] == [{"Id": "hidden"}]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in response["Failed"]] == [
        ("shown", "AWS.SimpleQueueService.MessageNotInflight", True)
    ]
    assert sorted(m["Body"] for m in receive(sqs, queue_url)) == ["a", "b"]


def test_a_batch_with_repeated_ids_is_rejected_whole(sqs: Any, queue_url: str) -> None:
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct) as exc:
        sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}]
        )
    assert error_of(exc) == (400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
    assert depth(sqs, queue_url) == (0, 0)


def test_queue_attributes_are_those_the_collector_reads_and_there_is_no_redrive_policy(
    sqs: Any, queue_url: str
) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    sqs.send_message(QueueUrl=queue_url, MessageBody="y", DelaySeconds=600)
    receive(sqs, queue_url, MaxNumberOfMessages=1)
    sqs.send_message(QueueUrl=queue_url, MessageBody="z")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert "RedrivePolicy" not in attributes
    assert attributes["QueueArn"] == "arn:aws:sqs:us-east-1:123456789012:work"
    assert attributes["VisibilityTimeout"] == "45"
    assert [
        attributes[f"ApproximateNumberOf{kind}"] for kind in ("Messages", "MessagesNotVisible", "MessagesDelayed")
    ] == ["1", "1", "1"]
    named = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy", "VisibilityTimeout"])
    assert named["Attributes"] == {"VisibilityTimeout": "45"}


def test_a_queue_that_does_not_exist_is_QueueDoesNotExist(sqs: Any, queue_url: str) -> None:
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as exc:
        sqs.receive_message(QueueUrl=queue_url.replace("work", "missing"))
    assert error_of(exc) == (400, "AWS.SimpleQueueService.NonExistentQueue")
    assert sqs.get_queue_url(QueueName="work")["QueueUrl"] == queue_url


# --- S3 -------------------------------------------------------------------------------------------------


def test_an_object_reads_back_whole_and_by_single_byte_ranges(s3: Any) -> None:
    s3.create_bucket(Bucket="logs")
    data = bytes(range(256)) * 4
    put = s3.put_object(Bucket="logs", Key=ODD_KEY, Body=data)
    whole = s3.get_object(Bucket="logs", Key=ODD_KEY)
    assert whole["Body"].read() == data
    assert whole["ETag"] == put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert whole["ContentLength"] == 1024
    ranges = {"bytes=2-5": data[2:6], "bytes=-3": data[-3:], "bytes=1000-": data[1000:], "bytes=1020-4096": data[1020:]}
    for header, expected in ranges.items():
        part = s3.get_object(Bucket="logs", Key=ODD_KEY, Range=header)
        assert (part["Body"].read(), part["ResponseMetadata"]["HTTPStatusCode"]) == (expected, 206)
    assert s3.get_object(Bucket="logs", Key=ODD_KEY, Range="bytes=0-1")["ContentRange"] == "bytes 0-1/1024"
    assert s3.head_object(Bucket="logs", Key=ODD_KEY)["ContentLength"] == 1024


def test_a_range_past_the_end_is_InvalidRange(s3: Any) -> None:
    s3.create_bucket(Bucket="logs")
    s3.put_object(Bucket="logs", Key="k", Body=b"0123456789")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="logs", Key="k", Range="bytes=10-20")
    assert error_of(exc) == (416, "InvalidRange")


def test_a_missing_key_is_NoSuchKey_and_a_missing_bucket_NoSuchBucket(s3: Any) -> None:
    s3.create_bucket(Bucket="logs")
    with pytest.raises(s3.exceptions.NoSuchKey) as missing_key:
        s3.get_object(Bucket="logs", Key=ODD_KEY)
    assert missing_key.value.response["Error"]["Key"] == ODD_KEY
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.get_object(Bucket="other", Key="k")
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket="logs", Key=ODD_KEY)
    assert error_of(head) == (404, "404")


def test_putting_an_object_sends_the_notification_s3_sends(s3: Any, sqs: Any, queue_url: str) -> None:
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="logs")
    configuration = {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Id": "to-work"}
    configuration["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "AWSLogs/"}]}}
    s3.put_bucket_notification_configuration(
        Bucket="logs", NotificationConfiguration={"QueueConfigurations": [configuration]}
    )
    s3.put_object(Bucket="logs", Key="elsewhere/x.gz", Body=b"not announced")
    s3.put_object(Bucket="logs", Key=ODD_KEY, Body=b"twelve bytes")
    test_event, created = (orjson.loads(m["Body"]) for m in receive(sqs, queue_url))
    assert (test_event["Event"], test_event["Bucket"], test_event["Service"]) == ("s3:TestEvent", "logs", "Amazon S3")
    (record,) = created["Records"]
    assert (record["eventVersion"], record["eventSource"], record["eventName"]) == (
        "2.1",
        "aws:s3",
        "ObjectCreated:Put",
    )
    assert record["s3"]["configurationId"] == "to-work"
    assert record["s3"]["bucket"]["name"] == "logs"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::logs"
    s3_object = record["s3"]["object"]
    assert s3_object["key"] == "AWSLogs/111122223333/CloudTrail/us-east-1/a+b%2Bc%3Ad+%C3%A9~%281%29.json.gz"
    assert (s3_object["size"], s3_object["eTag"]) == (12, hashlib.md5(b"twelve bytes").hexdigest())
    (ref,) = parse_notification(orjson.dumps(created)).objects
    assert (ref.bucket, ref.key, ref.size, ref.etag) == ("logs", ODD_KEY, 12, hashlib.md5(b"twelve bytes").hexdigest())


def test_announcing_stored_objects_puts_all_their_events_in_the_queue_at_once(
    aws: MemoryAws, s3: Any, sqs: Any, queue_url: str
) -> None:
    s3.create_bucket(Bucket="logs")
    keys = [f"AWSLogs/1/CloudTrail/us-east-1/{n}.json.gz" for n in range(12)]
    for key in keys:
        s3.put_object(Bucket="logs", Key=key, Body=key.encode())
    assert aws.announce(queue_url, "logs", keys) == 12
    announced = receive(sqs, queue_url) + receive(sqs, queue_url)
    refs = [ref for message in announced for ref in parse_notification(message["Body"]).objects]
    assert [(ref.bucket, ref.key, ref.size) for ref in refs] == [("logs", key, len(key)) for key in keys]
    stats = aws.stats()
    assert stats["queues"]["work"] == {
        "visible": 0,
        "in_flight": 12,
        "delayed": 0,
        "waiting": 0,
        "sent": 12,
        "received": 12,
        "deleted": 0,
    }
    assert (stats["requests"]["PutObject"], stats["requests"]["ReceiveMessage"]) == (12, 2)


def test_the_latency_can_be_changed_while_serving(aws: MemoryAws) -> None:
    aws.set_latency(0.04)
    assert aws.stats()["latency_seconds"] == 0.04
    aws.set_latency(0)
    assert aws.stats()["latency_seconds"] == 0


# --- its own process, and the collector on it -----------------------------------------------------------


def test_the_endpoint_runs_in_a_process_of_its_own_stopped_by_its_pid() -> None:
    endpoint = MemoryAwsProcess(latency_seconds=0.001).start()
    try:
        pid = endpoint.pid
        assert pid != os.getpid()
        assert endpoint.stats()["latency_seconds"] == 0.001
        endpoint.client("s3").create_bucket(Bucket="logs")
        endpoint.client("s3").put_object(Bucket="logs", Key="k", Body=b"data")
        assert endpoint.client("s3").get_object(Bucket="logs", Key="k")["Body"].read() == b"data"
    finally:
        endpoint.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_collector_drains_a_backlog_of_small_objects_announced_at_once(aws: MemoryAws, tmp_path: Path) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket="trail")
    queue_url = sqs.create_queue(QueueName="trail")["QueueUrl"]
    body = sample("cloudtrail.json.gz")
    records = [orjson.dumps(record).decode() for record in orjson.loads(gzip.decompress(body))["Records"]]
    keys = [f"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/16/trail-{n:02d}.json.gz" for n in range(25)]
    for key in keys:
        s3.put_object(Bucket="trail", Key=key, Body=body)
    config = {
        "globals": {"persistence": {"type": "filesystem", "config": {"directory_name": str(tmp_path / "state")}}},
        "inputs": {
            "sqs_collector": {
                "id": "12345",
                "base_url": queue_url,
                "endpoint_url": aws.url,
                "credentials": {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
                "sqs_wait_timeout": 1,  # a stopping puller finishes its long poll first
                "sqs_max_messages": 10,
                "puller_threads": 4,
                "services": {"aws_sqs_cloudtrail": {"key_pattern": "/CloudTrail/"}},
            }
        },
    }
    with SyslogReceiver() as receiver:
        config["outputs"] = {"relay": {"type": "relay", "address": "127.0.0.1", "port": receiver.port}}
        with CollectorProcess(config, directory=tmp_path) as collector:
            assert wait_until(lambda: "Starting data collection" in collector.log(), timeout=60), collector.log()
            aws.announce(queue_url, "trail", keys)
            total = len(records) * len(keys)
            delivered = lambda: sum(len(m) for m in collected_by_tag(receiver).values())  # noqa: E731
            assert wait_until(lambda: delivered() >= total and depth(sqs, queue_url) == (0, 0), timeout=90), (
                f"{delivered()} of {total} records, queue {depth(sqs, queue_url)}\n{collector.log()[-3000:]}"
            )
            assert collector.terminate()[0] == 0
        received = sorted(m for messages in collected_by_tag(receiver).values() for m in messages)
    assert received == sorted(records * len(keys))


def test_the_default_config_grows_its_concurrency_on_a_backlog_and_delivers_every_record_once(
    aws: MemoryAws, tmp_path: Path
) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket="trail")
    queue_url = sqs.create_queue(QueueName="trail")["QueueUrl"]
    body = sample("cloudtrail.json.gz")
    records = [orjson.dumps(record).decode() for record in orjson.loads(gzip.decompress(body))["Records"]]
    keys = [f"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/16/trail-{n:03d}.json.gz" for n in range(800)]
    for key in keys:
        s3.put_object(Bucket="trail", Key=key, Body=body)
    port = free_port()
    config = {
        "globals": {
            "persistence": {"type": "filesystem", "config": {"directory_name": str(tmp_path / "state")}},
            "metrics_port": port,
        },
        "inputs": {  # the README's minimal input: no puller_threads, no sqs_max_messages
            "sqs_collector": {
                "id": "12345",
                "base_url": queue_url,
                "endpoint_url": aws.url,
                "credentials": {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
                "sqs_wait_timeout": 1,  # a stopping receiver finishes its long poll first
                "services": {"aws_sqs_cloudtrail": {"key_pattern": "/CloudTrail/"}},
            }
        },
    }
    limits: list[float] = []

    def limit() -> float:
        return scrape(port).get(("devo_sqs_concurrency_limit", ()), 0.0)

    def drained() -> bool:
        limits.append(limit())
        return delivered() >= len(records) * len(keys) and depth(sqs, queue_url) == (0, 0)

    with SyslogReceiver() as receiver:
        config["outputs"] = {"relay": {"type": "relay", "address": "127.0.0.1", "port": receiver.port}}
        delivered = lambda: sum(len(m) for m in collected_by_tag(receiver).values())  # noqa: E731
        with CollectorProcess(config, directory=tmp_path) as collector:
            assert wait_until(lambda: "Starting data collection" in collector.log(), timeout=60), collector.log()
            assert wait_until(lambda: limit() == RESTART_IN_FLIGHT, timeout=20)  # where a quiet queue leaves it
            aws.set_latency(0.05)  # a region's latency: 800 objects take at least 2.5 s at 16 in flight
            aws.announce(queue_url, "trail", keys)
            assert wait_until(drained, timeout=90), f"{delivered()} records\n{collector.log()[-3000:]}"
            assert collector.terminate()[0] == 0
        received = sorted(m for messages in collected_by_tag(receiver).values() for m in messages)
    assert received == sorted(records * len(keys))
    assert max(limits) > RESTART_IN_FLIGHT, limits  # it grew while the backlog lasted
    assert "message(s) in flight" in collector.log() and "(was 4, 4, 4): the queue has a backlog" in collector.log()
