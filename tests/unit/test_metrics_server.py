"""The /metrics server binds when it is made (so a taken port fails before any child starts) and answers
once it is given the snapshots to report."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devo_sqs.config.models import Globals
from devo_sqs.metrics import MetricsServer, MetricsUnavailable


def scrape(address: str) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {sample.name: sample.value for family in text_string_to_metric_families(text) for sample in family.samples}


def test_the_server_binds_at_construction_and_serves_the_latest_snapshots() -> None:
    server = MetricsServer(address="127.0.0.1", port=0)
    try:
        results = {"input": {"messages_received": 3, "messages_deleted": 2}}
        server.serve(lambda: results)
        assert scrape(server.address)["devo_sqs_messages_received_total"] == 3.0
        results["input"] = {"messages_received": 7}
        metrics = scrape(server.address)
        assert (metrics["devo_sqs_messages_received_total"], metrics["devo_sqs_messages_deleted_total"]) == (7.0, 0.0)
    finally:
        server.close()


def test_a_port_already_taken_fails_when_the_server_is_made_with_one_clear_reason() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(MetricsUnavailable) as refused:
            MetricsServer(address="127.0.0.1", port=port)
    assert str(refused.value) == (
        f"Cannot serve Prometheus metrics on 127.0.0.1:{port} (globals.metrics_address, metrics_port): "
        "Address already in use"
    )


def test_metrics_listen_on_all_interfaces_unless_an_address_is_configured() -> None:
    assert MetricsServer.bind(Globals()) is None
    everywhere = MetricsServer.bind(Globals(metrics_port=0))
    loopback = MetricsServer.bind(Globals(metrics_port=0, metrics_address="127.0.0.1"))
    assert everywhere is not None and loopback is not None
    try:
        assert everywhere.address.startswith("0.0.0.0:")
        assert loopback.address.startswith("127.0.0.1:")
    finally:
        everywhere.close()
        loopback.close()
