"""The alert rules and the dashboard in deploy/ read only metrics a running collector serves on /metrics, and the
dashboard shows every metric it serves; the counters and the lag they alert on count what happened."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import collected_count, input_config, ndjson_object, wait_until
from tests.integration.test_metrics import free_port
from tests.support.collector_process import CollectorProcess
from tests.support.monitoring import dashboard_queries, metric_names, queries
from tests.support.syslog_receiver import SyslogReceiver


def exposition(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def samples(text: str) -> dict[str, float]:
    """Unlabelled samples by name; labelled ones summed over their labels."""
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def test_the_rules_and_the_dashboard_read_only_served_metrics_and_the_dashboard_shows_them_all(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")  # no dead-letter queue: poison is dropped
    body, _ = ndjson_object(0, 1000)
    moto.client("s3").put_object(Bucket="logs", Key="app/0.json.gz", Body=body)
    moto.client("sqs").send_message(QueueUrl=queue.queue_url, MessageBody="this is not a notification")
    port = free_port()
    config = {
        "globals": {"persistence": {"config": {"directory_name": str(tmp_path / "state")}}, "metrics_port": port},
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": syslog_receiver.port}},
        "inputs": {"sqs_collector": input_config(queue.queue_url, moto.url, max_receive_count=1)},
    }
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: collected_count(syslog_receiver) == 1000, timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: moto.queue_depth(queue.queue_url) == (0, 0), timeout=30), collector.log()[-3000:]
        expected = {
            "devo_sqs_messages_received_total": 3.0,  # the object, the poison body, the s3:TestEvent
            "devo_sqs_messages_deleted_total": 3.0,
            "devo_sqs_messages_failed_total": 1.0,
            "devo_sqs_messages_failed_permanently_total": 1.0,
            "devo_sqs_messages_dropped_total": 1.0,
            "devo_sqs_sqs_message_age_seconds": 0.0,  # the queue is empty: no lag
            "devo_sqs_messages_in_flight": 0.0,
        }
        assert wait_until(lambda: _subset(samples(exposition(port)), expected) == expected, timeout=30), samples(
            exposition(port)
        )
        text = exposition(port)
        assert collector.terminate()[0] == 0
    served = set(samples(text))
    for where, expr in queries():
        assert metric_names(expr) <= served, (where, metric_names(expr) - served)
    shown = set().union(*(metric_names(expr) for _, expr in dashboard_queries()))
    families = {
        family.name: {sample.name for sample in family.samples} for family in text_string_to_metric_families(text)
    }
    assert {name for name, names in families.items() if not names & shown} == set()


def _subset(values: dict[str, float], wanted: dict[str, float]) -> dict[str, float | None]:
    return {name: values.get(name) for name in wanted}
