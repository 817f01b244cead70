"""Collector options end to end: send_md5_message audit events, direct mode, compressed event streams."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import orjson

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import collected_by_tag, collected_count, input_config, ndjson_object, wait_until
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver


def relay(tmp_path: Path, port: int, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "globals": {"persistence": {"config": {"directory_name": str(tmp_path / "state")}}},
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": port}},
        "inputs": {"sqs_collector": spec},
    }


def run_until(
    moto: LocalAws, queue_url: str, receiver: SyslogReceiver, config: dict[str, Any], tmp_path: Path, count: int
) -> str:
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: collected_count(receiver) >= count, timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: moto.queue_depth(queue_url) == (0, 0), timeout=30), collector.log()[-3000:]
        assert collector.terminate()[0] == 0
    return collector.log()


def test_send_md5_message_adds_one_audit_event_per_object(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    body, _ = ndjson_object(0, 50)
    moto.client("s3").put_object(Bucket="logs", Key="app/audited.json.gz", Body=body)
    spec = input_config(queue.queue_url, moto.url)
    spec["services"]["app_ndjson"]["send_md5_message"] = True
    spec["services"]["app_ndjson"]["line_filter_rules"] = [
        [{"source": "record", "key": "kind", "type": "match", "value": "error"}]
    ]
    run_until(moto, queue.queue_url, syslog_receiver, relay(tmp_path, syslog_receiver.port, spec), tmp_path, 38)
    by_tag = collected_by_tag(syslog_receiver)
    [event] = by_tag["my.app.sqs_collector.files"]
    assert json.loads(event) == {
        "bucket": "logs",
        "key": "app/audited.json.gz",
        "etag": hashlib.md5(body).hexdigest(),
        "md5": hashlib.md5(body).hexdigest(),
        "size": len(body),
        "service": "app_ndjson",
        "records": 50,
        "sent": 38,
        "filtered": 12,
        "failed": 0,
    }


def test_direct_mode_takes_message_bodies_as_records(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue_url = moto.client("sqs").create_queue(QueueName="direct")["QueueUrl"]
    bodies = [
        '{"kind": "login", "user": "ann"}',
        '[{"kind": "logout", "user": "bob"}, {"kind": "login", "user": "cy"}]',
        "plain text line",
    ]
    for body in bodies:
        moto.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)
    service = {
        "file_format": {"type": "dict_processor"},
        "record_field_mapping": {"kind": {"keys": ["kind"]}},
        "routing_template": "my.app.direct.[record-kind]",
    }
    spec = input_config(queue_url, moto.url, direct_mode=True, services={"direct": service})
    run_until(moto, queue_url, syslog_receiver, relay(tmp_path, syslog_receiver.port, spec), tmp_path, 4)
    assert {tag: sorted(messages) for tag, messages in collected_by_tag(syslog_receiver).items()} == {
        "my.app.direct.login": sorted(
            [orjson.dumps({"kind": "login", "user": "ann"}).decode(), '{"kind":"login","user":"cy"}']
        ),
        "my.app.direct.logout": ['{"kind":"logout","user":"bob"}'],
        "my.app.direct.null": ["plain text line"],
    }


def test_compressed_events_arrive_as_one_gzip_stream(moto: LocalAws, tmp_path: Path) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    body, expected = ndjson_object(0, 3000)
    moto.client("s3").put_object(Bucket="logs", Key="app/z.json.gz", Body=body)
    with SyslogReceiver(gzip_stream=True) as receiver:
        spec = input_config(queue.queue_url, moto.url, compressed_events=True)
        run_until(moto, queue.queue_url, receiver, relay(tmp_path, receiver.port, spec), tmp_path, 3000)
        assert {tag: sorted(m) for tag, m in collected_by_tag(receiver).items()} == {
            t: sorted(m) for t, m in expected.items()
        }
        assert receiver.malformed() == [] and receiver.broken_streams == 0
    assert gzip.decompress(body)  # the object itself stays a plain gzip NDJSON file
