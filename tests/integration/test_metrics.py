"""Prometheus /metrics, scraped while the collector runs."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from devo_sqs.demo.local_aws import LocalAws
from devo_sqs.output.stats import BUCKETS_SECONDS
from tests.integration.conftest import collected_count, input_config, ndjson_object, sample, wait_until
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_messages_records_per_service_and_deliveries(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    for index in range(3):
        body, _ = ndjson_object(index * 1000, 1000)
        moto.client("s3").put_object(Bucket="logs", Key=f"app/{index}.json.gz", Body=body)
    moto.client("s3").put_object(Bucket="logs", Key="x/vpcflowlogs/flow.log.gz", Body=sample("vpcflow.log.gz"))
    moto.client("s3").put_object(
        Bucket="logs", Key="x/CloudTrail-Digest/d.json.gz", Body=sample("cloudtrail-digest.json.gz")
    )
    port = free_port()
    config = {
        "globals": {
            "persistence": {"config": {"directory_name": str(tmp_path / "state")}},
            "metrics_port": port,
            "queue_max_elapsed_time_in_sec": 60,  # one batch per object: batches are cut by age only after 60 s
        },
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": syslog_receiver.port}},
        "inputs": {"sqs_collector": input_config(queue.queue_url, moto.url)},
    }
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: _answers(port), timeout=20), collector.log()[-2000:]
        assert wait_until(lambda: collected_count(syslog_receiver) == 3020, timeout=60)
        assert wait_until(lambda: moto.queue_depth(queue.queue_url) == (0, 0), timeout=30)
        expected = {
            ("devo_sqs_messages_received_total", ()): 6.0,
            ("devo_sqs_messages_deleted_total", ()): 6.0,
            ("devo_sqs_messages_failed_total", ()): 0.0,
            ("devo_sqs_notifications_ignored_total", ()): 1.0,
            ("devo_sqs_objects_processed_total", ()): 4.0,
            ("devo_sqs_objects_skipped_total", ()): 1.0,
            ("devo_sqs_records_total", (("outcome", "sent"), ("service", "app_ndjson"))): 3000.0,
            ("devo_sqs_records_total", (("outcome", "sent"), ("service", "aws_sqs_vpc"))): 20.0,
            ("devo_sqs_records_total", (("outcome", "filtered"), ("service", "app_ndjson"))): 0.0,
            ("devo_sqs_service_objects_total", (("service", "app_ndjson"),)): 3.0,
            ("devo_sqs_messages_in_flight", ()): 0.0,
            ("devo_sqs_records_spooled_total", (("manager", "standard"),)): 0.0,
            ("devo_sqs_spool_batches", (("manager", "standard"),)): 0.0,
        }
        assert wait_until(lambda: _subset(scrape(port), expected) == expected, timeout=10), scrape(port)
        metrics = scrape(port)
        assert collector.terminate()[0] == 0
        log = collector.log()
    assert metrics[("devo_sqs_records_delivered_total", (("manager", "standard"),))] == 3020.0
    assert metrics[("devo_sqs_bytes_read_total", ())] > 0
    assert metrics[("devo_sqs_object_processing_seconds_total", (("service", "app_ndjson"),))] > 0
    assert metrics[("devo_sqs_sender_down", (("sender", "SyslogSender(standard_senders,relay_0)"),))] == 0.0
    assert 0 <= metrics[("devo_sqs_sqs_message_age_seconds", ())] < 60
    assert_waits_histogram(metrics, manager="standard", batches=4)  # the 3 NDJSON objects and the VPC flow log
    assert_waits_histogram(metrics, manager="lookup", batches=0)
    # At shutdown each manager logs its monitor lines: standard, lookup, internal.
    waits = [
        line.partition(" -> ")[2] for line in log.splitlines() if "enqueued_elapsed_times_in_seconds_stats" in line
    ]
    assert len(waits) == 3, log[-3000:]
    assert re.fullmatch(r'enqueued_elapsed_times_in_seconds_stats: \{"count": 4, "min": .*\}', waits[0]), waits
    assert waits[1] == "enqueued_elapsed_times_in_seconds_stats: {}"


def assert_waits_histogram(
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], *, manager: str, batches: int
) -> None:
    """devo_sqs_enqueued_elapsed_seconds{manager}: cumulative buckets ending in +Inf = count, and a sum."""
    name = "devo_sqs_enqueued_elapsed_seconds"
    buckets = {
        labels[0][1]: value
        for (sample, labels), value in metrics.items()
        if sample == f"{name}_bucket" and labels[1] == ("manager", manager)
    }
    bounds = [*(repr(bound) for bound in BUCKETS_SECONDS), "+Inf"]
    assert list(buckets) == bounds
    counts = [buckets[bound] for bound in bounds]
    assert counts == sorted(counts) and counts[-1] == batches
    assert metrics[(f"{name}_count", (("manager", manager),))] == batches
    assert metrics[(f"{name}_sum", (("manager", manager),))] >= 0.0


def _answers(port: int) -> bool:
    try:
        return bool(scrape(port))
    except OSError:
        return False


def _subset(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], wanted: dict) -> dict:  # type: ignore[type-arg]
    return {key: metrics.get(key) for key in wanted}


def test_a_metrics_port_already_taken_stops_run_with_one_line_before_any_child_starts(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken, socket.create_server(("127.0.0.1", 0)) as tripwire:
        tripwire.settimeout(0.5)
        port, aws_port = taken.getsockname()[1], tripwire.getsockname()[1]
        config = {
            "globals": {
                "persistence": {"config": {"directory_name": str(tmp_path / "state")}},
                "metrics_port": port,
                "metrics_address": "127.0.0.1",
            },
            "inputs": {
                "sqs_collector": input_config(
                    f"http://127.0.0.1:{aws_port}/123456789012/q", f"http://127.0.0.1:{aws_port}"
                )
            },
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        result = subprocess.run(
            [sys.executable, "-m", "devo_sqs", "run", str(path)], capture_output=True, text=True, timeout=60
        )
        assert (result.returncode, result.stdout) == (1, "")
        [line] = result.stderr.splitlines()
        reason = (
            f"Cannot serve Prometheus metrics on 127.0.0.1:{port} (globals.metrics_address, metrics_port): "
            "Address already in use"
        )
        assert re.fullmatch(r"\S+ +ERROR MainProcess::MainThread -> " + re.escape(reason), line), line
        try:
            tripwire.accept()
            raise AssertionError("a collector process connected to the AWS endpoint")
        except TimeoutError:
            pass
    assert not (tmp_path / "state").exists()  # nothing was started, not even the state directory


def test_metrics_address_chooses_the_interface_metrics_listen_on(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    port = free_port()
    config = {
        "globals": {
            "persistence": {"config": {"directory_name": str(tmp_path / "state")}},
            "metrics_port": port,
            "metrics_address": "127.0.0.1",
        },
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": syslog_receiver.port}},
        "inputs": {"sqs_collector": input_config(queue.queue_url, moto.url)},
    }
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: _answers(port), timeout=20), collector.log()[-2000:]
        assert collector.terminate()[0] == 0
    assert f"Serving Prometheus metrics on 127.0.0.1:{port} (/metrics)" in collector.log()
