"""Shared builders for end-to-end tests: objects in the bucket, collector configs, waiting for the queue."""

from __future__ import annotations

import gzip
import time
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from devo_sqs.demo.local_aws import LocalAws, QueueSetup
from tests.support.certs import Pki
from tests.support.syslog_receiver import SyslogReceiver

DEMO_SAMPLES = resources.files("devo_sqs.demo").joinpath("samples")


def sample(name: str) -> bytes:
    return DEMO_SAMPLES.joinpath(name).read_bytes()


def ndjson_object(start: int, count: int) -> tuple[bytes, dict[str, list[str]]]:
    """A gzip NDJSON object of `count` records and the messages expected per tag."""
    kinds = ("login", "logout", "purchase", "error")
    expected: dict[str, list[str]] = {}
    lines = []
    for n in range(start, start + count):
        kind = kinds[n % len(kinds)]
        line = orjson.dumps({"n": n, "kind": kind, "user": f"user{n % 97}", "detail": {"ip": f"10.0.{n % 256}.1"}})
        lines.append(line)
        expected.setdefault(f"my.app.ndjson.{kind}", []).append(line.decode())
    return gzip.compress(b"\n".join(lines) + b"\n", compresslevel=1), expected


def cloudtrail_expected() -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {}
    for record in orjson.loads(gzip.decompress(sample("cloudtrail.json.gz")))["Records"]:
        tag = f"cloud.aws.cloudtrail.{record['recipientAccountId']}.{record['awsRegion']}"
        expected.setdefault(tag, []).append(orjson.dumps(record).decode())
    return expected


def lines_of(name: str, *, skip_header: bool = False) -> list[str]:
    lines = gzip.decompress(sample(name)).decode().splitlines()
    return lines[1:] if skip_header else lines


def input_config(queue_url: str, endpoint_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "id": "12345",
        "base_url": queue_url,
        "endpoint_url": endpoint_url,
        "credentials": {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
        "sqs_wait_timeout": 1,
        "sqs_max_messages": 10,
        "services": {
            "aws_sqs_cloudtrail": {"key_pattern": "/CloudTrail(-Digest)?/"},
            "aws_sqs_vpc": {"key_pattern": "/vpcflowlogs/"},
            "aws_sqs_alb": {"key_pattern": "/elasticloadbalancing/"},
            "app_ndjson": {
                "key_pattern": "^app/",
                "file_format": {"type": "line_split_processor", "config": {"json": True}},
                "record_field_mapping": {"kind": {"keys": ["kind"]}},
                "routing_template": "my.app.ndjson.[record-kind]",
            },
        },
        **overrides,
    }


def devo_output(pki: Pki, port: int) -> dict[str, Any]:
    return {
        "type": "devo_platform",
        "address": "127.0.0.1",
        "port": port,
        "chain": str(pki.ca_chain),
        "cert": str(pki.client.cert),
        "key": str(pki.client.key),
    }


INTERNAL_TAG_PREFIX = "devo.collectors.out."


def collected_by_tag(receiver: SyslogReceiver) -> dict[str, list[str]]:
    """What a receiver got, by tag, without the collector's own internal events."""
    return {
        tag: messages for tag, messages in receiver.messages_by_tag().items() if not tag.startswith(INTERNAL_TAG_PREFIX)
    }


def collected_count(receiver: SyslogReceiver) -> int:
    return sum(len(messages) for messages in collected_by_tag(receiver).values())


def wait_until(condition: Any, *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


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
    tmp_path: Path, queue: QueueSetup, moto: LocalAws, port: int, *, state: str = "state", **input_keys: Any
) -> dict[str, Any]:
    return {
        "globals": {
            "persistence": {"config": {"directory_name": str(tmp_path / state)}},
            "queue_wrap_max_size_in_messages": WRAP,
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
