"""The whole collector as real processes: moto server (S3 + SQS) -> devo-sqs run -> a TLS syslog receiver
with client-certificate authentication. Every record arrives exactly once with its tag; the queue ends empty."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from devo_sqs.collector import STOP_BUDGET_SECONDS
from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import (
    cloudtrail_expected,
    collected_by_tag,
    collected_count,
    devo_output,
    input_config,
    lines_of,
    ndjson_object,
    sample,
    wait_until,
)
from tests.support.certs import Pki
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver

PREFIX = "AWSLogs/111122223333"
NDJSON_OBJECTS = 5
NDJSON_RECORDS_PER_OBJECT = 24_000


def received_by_tag(receiver: SyslogReceiver) -> dict[str, Counter[str]]:
    return {tag: Counter(messages) for tag, messages in collected_by_tag(receiver).items()}


def test_every_record_arrives_once_with_its_tag_over_mutual_tls(
    moto: LocalAws, tls_syslog_receiver: SyslogReceiver, pki: Pki, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    s3 = moto.client("s3")
    expected: dict[str, list[str]] = {}
    for start in range(0, NDJSON_OBJECTS * NDJSON_RECORDS_PER_OBJECT, NDJSON_RECORDS_PER_OBJECT):
        body, per_tag = ndjson_object(start, NDJSON_RECORDS_PER_OBJECT)
        s3.put_object(Bucket="logs", Key=f"app/2024/01/16/part-{start:07d}.json.gz", Body=body)
        for tag, messages in per_tag.items():
            expected.setdefault(tag, []).extend(messages)
    s3.put_object(Bucket="logs", Key=f"{PREFIX}/CloudTrail/us-east-1/trail.json.gz", Body=sample("cloudtrail.json.gz"))
    s3.put_object(
        Bucket="logs", Key=f"{PREFIX}/CloudTrail-Digest/us-east-1/d.json.gz", Body=sample("cloudtrail-digest.json.gz")
    )
    s3.put_object(Bucket="logs", Key=f"{PREFIX}/vpcflowlogs/us-east-1/flow.log.gz", Body=sample("vpcflow.log.gz"))
    s3.put_object(Bucket="logs", Key=f"{PREFIX}/elasticloadbalancing/us-east-1/alb.log.gz", Body=sample("alb.log.gz"))
    expected.update(cloudtrail_expected())
    expected["cloud.aws.vpc.flow"] = lines_of("vpcflow.log.gz", skip_header=True)
    expected["web.aws.alb.access"] = lines_of("alb.log.gz")
    total = sum(len(messages) for messages in expected.values())

    config = {
        "globals": {"persistence": {"type": "filesystem", "config": {"directory_name": str(tmp_path / "state")}}},
        "outputs": {"devo": devo_output(pki, tls_syslog_receiver.port)},
        "inputs": {"sqs_collector": input_config(queue.queue_url, moto.url)},
    }
    started = time.monotonic()
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: collected_count(tls_syslog_receiver) >= total, timeout=120), collector.log()[-3000:]
        elapsed = time.monotonic() - started
        assert wait_until(lambda: moto.queue_depth(queue.queue_url) == (0, 0), timeout=30), collector.log()[-3000:]
        code, _ = collector.terminate(timeout=STOP_BUDGET_SECONDS + 10)  # raises past the collector's stop budget
    assert code == 0, collector.log()[-3000:]
    assert received_by_tag(tls_syslog_receiver) == {tag: Counter(messages) for tag, messages in expected.items()}
    assert collected_count(tls_syslog_receiver) == total
    assert tls_syslog_receiver.malformed() == []
    log = collector.log()
    assert "Skipped s3://logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/d.json.gz" in log
    assert "Traceback" not in log
    print(f"\nend-to-end: {total} records in {elapsed:.2f} s = {total / elapsed:,.0f} records/s (incl. start-up)")
