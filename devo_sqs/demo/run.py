"""`devo-sqs demo`: the whole collector, both processes, against a local S3+SQS (moto server on loopback).

Uploads the bundled samples (CloudTrail, a CloudTrail digest that is filtered out, VPC flow, ALB), runs
until the queue is drained, then prints per-tag counts and the sender statistics.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import time
from importlib import resources
from typing import Any

from devo_sqs.collector import Collector
from devo_sqs.config.loader import parse_config
from devo_sqs.demo.local_aws import LocalAws

log = logging.getLogger(__name__)

BUCKET = "devo-sqs-demo"
QUEUE = "devo-sqs-demo"
DRAIN_TIMEOUT_SECONDS = 90.0
PREFIX = "AWSLogs/111122223333"
SAMPLES = {  # S3 key -> bundled sample file
    f"{PREFIX}/CloudTrail/us-east-1/2024/01/16/111122223333_CloudTrail_us-east-1_20240116T1205Z_a1b2.json.gz": (
        "cloudtrail.json.gz"
    ),
    f"{PREFIX}/CloudTrail-Digest/us-east-1/2024/01/16/111122223333_CloudTrail-Digest_us-east-1_20240116T12Z.json.gz": (
        "cloudtrail-digest.json.gz"
    ),
    f"{PREFIX}/vpcflowlogs/us-east-1/2024/01/16/111122223333_vpcflowlogs_us-east-1_fl-0a1b_20240116T12Z.log.gz": (
        "vpcflow.log.gz"
    ),
    f"{PREFIX}/elasticloadbalancing/us-east-1/2024/01/16/111122223333_elasticloadbalancing_us-east-1_app.demo.log.gz": (
        "alb.log.gz"
    ),
}


def demo_config(*, endpoint_url: str, queue_url: str, state_dir: str) -> dict[str, Any]:
    return {
        "globals": {
            "name": "devo-sqs-demo",
            "persistence": {"type": "filesystem", "config": {"directory_name": state_dir}},
        },
        "outputs": {"console": {"type": "console"}},
        "inputs": {
            "sqs_collector": {
                "id": "10001",
                "base_url": queue_url,
                "endpoint_url": endpoint_url,
                "credentials": {"aws_access_key_id": "demo", "aws_secret_access_key": "demo"},
                "sqs_wait_timeout": 1,
                "sqs_max_messages": 10,
                "services": {
                    "aws_sqs_cloudtrail": {"key_pattern": "/CloudTrail(-Digest)?/"},
                    "aws_sqs_vpc": {"key_pattern": "/vpcflowlogs/"},
                    "aws_sqs_alb": {"key_pattern": "/elasticloadbalancing/"},
                },
            }
        },
    }


def run_demo() -> int:
    with LocalAws() as aws, tempfile.TemporaryDirectory(prefix="devo-sqs-demo-") as state_dir:
        queue_url = aws.make_bucket_to_queue(BUCKET, QUEUE).queue_url
        upload_samples(aws)
        config = parse_config(demo_config(endpoint_url=aws.url, queue_url=queue_url, state_dir=state_dir))
        collector = Collector(config)
        running = threading.Thread(target=lambda: codes.append(collector.run()), name="Supervisor")
        codes: list[int] = []
        running.start()
        drained = wait_until_drained(aws, queue_url)
        collector.request_stop()
        running.join()
        code = codes[0] if codes else 1
        print_summary(collector.results)
        if not drained:
            print(f"The queue was not drained within {DRAIN_TIMEOUT_SECONDS:.0f} s", file=sys.stderr)
            return 1
        return code


def upload_samples(aws: LocalAws) -> None:
    samples = resources.files("devo_sqs.demo").joinpath("samples")
    for key, name in SAMPLES.items():
        aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=samples.joinpath(name).read_bytes())
        log.info("Uploaded s3://%s/%s", BUCKET, key)


def wait_until_drained(aws: LocalAws, queue_url: str) -> bool:
    """True once the queue holds nothing, visible or in flight, for a second."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    empty_since: float | None = None
    while time.monotonic() < deadline:
        if sum(aws.queue_depth(queue_url)) == 0:
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= 1.0:
                return True
        else:
            empty_since = None
        time.sleep(0.2)
    return False


def print_summary(results: dict[str, Any]) -> None:
    standard = results.get("output", {}).get("managers", {}).get("standard", {})
    print("\nRecords delivered per tag:")
    for tag, count in sorted(standard.get("by_tag", {}).items()):
        print(f"  {count:6d}  {tag}")
    print(f"  {standard.get('total', 0):6d}  total")
    counters = results.get("input", {})
    print("\nPer service (objects, records sent / filtered / failed):")
    for service, totals in sorted(counters.get("services", {}).items()):
        sent, filtered, failed = (totals[name] for name in ("records_sent", "records_filtered", "records_failed"))
        print(f"  {service:22s} {totals['objects']:3d} objects  {sent:6d} / {filtered} / {failed}")
    print(
        "\nSQS messages: {messages_received} received, {messages_deleted} deleted, {messages_failed} failed, "
        "{notifications_ignored} event(s) without objects; objects: {objects_processed} collected, "
        "{objects_skipped} skipped, {objects_failed} failed".format_map(counters)
    )
