"""Prometheus `/metrics` (opt-in `globals.metrics_port`, on `globals.metrics_address`), served by the parent
process from the latest snapshots the two child processes report (see `status.py`).

The port is bound before the child processes start, so a port already taken stops the collector with one
line instead of leaving it running unobserved."""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector, CollectorRegistry

from devo_sqs.config.models import Globals
from devo_sqs.errors import CollectorError

Snapshots = Callable[[], Mapping[str, Mapping[str, Any]]]

INPUT_COUNTERS = {
    "messages_received": "SQS messages received",
    "messages_deleted": "SQS messages deleted after delivery",
    "messages_failed": "SQS messages that failed (left for a retry, the DLQ or deleted as poison)",
    "messages_failed_permanently": "SQS messages that failed for good (each receive counts): left to the dead-letter "
    "queue's redrive policy, or deleted as poison after max_receive_count receives",
    "messages_released": "SQS messages made visible again (failed with backoff, or handed back at a stop)",
    "messages_dropped": "poison SQS messages deleted after max_receive_count receives (no dead-letter queue)",
    "access_errors": "objects that could not be read for AccessDenied or KMS errors",
    "notifications_ignored": "notification events without objects (s3:TestEvent, deletions, ...)",
    "objects_processed": "S3 objects read to the end",
    "objects_skipped": "S3 objects skipped (filename filters, no service, already delivered)",
    "objects_failed": "S3 objects that failed",
    "bytes_read": "decompressed bytes read from S3 objects",
}
CONCURRENCY_GAUGES = {
    "concurrency_limit": "SQS messages the pullers may work on at once (puller_threads, or adaptive up to 16)",
    "receive_batch_limit": "messages one ReceiveMessage asks for, at most (sqs_max_messages, or adaptive up to 10)",
    "prefetch_limit": "messages received ahead of a free puller, at most",
}
SERVICE_OUTCOMES = {"records_sent": "sent", "records_filtered": "filtered", "records_failed": "failed"}


class SnapshotCollector(Collector):
    def __init__(self, snapshots: Snapshots) -> None:
        self._snapshots = snapshots

    def collect(self) -> Iterator[Metric]:
        snapshots = self._snapshots()
        yield from _input_metrics(snapshots.get("input", {}))
        yield from _output_metrics(snapshots.get("output", {}).get("managers", {}))
        yield from _health_metrics(snapshots)


class MetricsUnavailable(CollectorError):
    """The metrics address cannot be bound (port taken, unknown address)."""


class MetricsServer:
    """Binds its address when made; answers /metrics from a daemon thread once `serve` gives it snapshots."""

    def __init__(self, *, address: str, port: int) -> None:
        self._registry = CollectorRegistry()
        try:
            self._server = make_server(
                address, port, make_wsgi_app(self._registry), _server_class(address, port), _QuietHandler
            )
        except OSError as exc:
            raise MetricsUnavailable(
                f"Cannot serve Prometheus metrics on {address}:{port} (globals.metrics_address, metrics_port): "
                f"{exc.strerror or exc}"
            ) from None
        self._thread: threading.Thread | None = None

    @classmethod
    def bind(cls, globals_: Globals) -> MetricsServer | None:
        """The configured server, bound; None when metrics are off. Raises MetricsUnavailable."""
        if globals_.metrics_port is None:
            return None
        return cls(address=globals_.metrics_address, port=globals_.metrics_port)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def serve(self, snapshots: Snapshots) -> None:
        self._registry.register(SnapshotCollector(snapshots))
        self._thread = threading.Thread(target=self._server.serve_forever, name="MetricsServer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()


def _server_class(address: str, port: int) -> type[ThreadingWSGIServer]:
    """A server of the address's family (IPv6 addresses such as `::` need AF_INET6)."""
    family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    return type("MetricsHttpServer", (ThreadingWSGIServer,), {"address_family": family})


class _QuietHandler(WSGIRequestHandler):
    """No line on stderr per scrape."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _input_metrics(snapshot: Mapping[str, Any]) -> Iterator[Metric]:
    for name, documentation in INPUT_COUNTERS.items():
        yield CounterMetricFamily(f"devo_sqs_{name}", documentation, value=snapshot.get(name, 0))
    records = CounterMetricFamily("devo_sqs_records", "records per service and outcome", labels=["service", "outcome"])
    seconds = CounterMetricFamily(
        "devo_sqs_object_processing_seconds", "time spent reading objects", labels=["service"]
    )
    objects = CounterMetricFamily("devo_sqs_service_objects", "objects read per service", labels=["service"])
    for service, totals in sorted(snapshot.get("services", {}).items()):
        for field, outcome in SERVICE_OUTCOMES.items():
            records.add_metric([service, outcome], totals.get(field, 0))
        seconds.add_metric([service], totals.get("seconds", 0.0))
        objects.add_metric([service], totals.get("objects", 0))
    yield from (records, seconds, objects)
    yield GaugeMetricFamily(
        "devo_sqs_messages_in_flight", "SQS messages being worked on", snapshot.get("messages_in_flight", 0)
    )
    yield GaugeMetricFamily(
        "devo_sqs_bytes_in_flight",
        "bytes of batches handed to the output process and not yet settled (bounded by queue_max_size_in_mb)",
        snapshot.get("bytes_in_flight", 0),
    )
    for name, documentation in CONCURRENCY_GAUGES.items():
        yield GaugeMetricFamily(f"devo_sqs_{name}", documentation, snapshot.get(name, 0))
    yield GaugeMetricFamily(
        "devo_sqs_sqs_message_age_seconds",
        "how long the newest received message had waited in SQS (the collector's lag)",
        snapshot.get("message_age_seconds", 0.0),
    )


def _health_metrics(snapshots: Mapping[str, Mapping[str, Any]]) -> Iterator[Metric]:
    collector = snapshots.get("collector", {})
    yield CounterMetricFamily(
        "devo_sqs_process_restarts",
        "restarts of the two collector processes after one died",
        collector.get("restarts", 0),
    )
    yield GaugeMetricFamily(
        "devo_sqs_problems", "problems `devo-sqs health` reports (0: healthy)", len(collector.get("problems", []))
    )
    yield GaugeMetricFamily(
        "devo_sqs_seconds_since_settlement",
        "seconds since a batch or message was last settled (grows while collection is stalled)",
        snapshots.get("input", {}).get("seconds_since_settlement", 0.0),
    )
    restarts = CounterMetricFamily("devo_sqs_thread_restarts", "threads restarted after an error", labels=["process"])
    for side in ("input", "output"):
        restarts.add_metric([side], snapshots.get(side, {}).get("thread_restarts_total", 0))
    yield restarts


def _output_metrics(snapshot: Mapping[str, Any]) -> Iterator[Metric]:
    delivered = CounterMetricFamily(
        "devo_sqs_records_delivered", "records confirmed by every output", labels=["manager"]
    )
    spooled = CounterMetricFamily(
        "devo_sqs_records_spooled", "records put in emergency persistence", labels=["manager"]
    )
    resent = CounterMetricFamily(
        "devo_sqs_records_resent", "records sent again after a receiver failed (duplicates)", labels=["manager"]
    )
    spool_failing = GaugeMetricFamily(
        "devo_sqs_spool_failing", "1 while emergency persistence cannot be written", labels=["manager"]
    )
    queued = GaugeMetricFamily("devo_sqs_sender_queue_batches", "batches waiting for a sender", labels=["manager"])
    spool_batches = GaugeMetricFamily("devo_sqs_spool_batches", "batches in emergency persistence", labels=["manager"])
    spool_bytes = GaugeMetricFamily("devo_sqs_spool_bytes", "disk used by emergency persistence", labels=["manager"])
    reconnects = CounterMetricFamily("devo_sqs_sender_reconnects", "failed writes and reconnects", labels=["sender"])
    down = GaugeMetricFamily("devo_sqs_sender_down", "1 while an output is down and batches spool", labels=["sender"])
    waits = HistogramMetricFamily(
        "devo_sqs_enqueued_elapsed_seconds",
        "how long batches waited in a sender manager's queue before a sender took them "
        "(the monitor's enqueued_elapsed_times_in_seconds_stats)",
        labels=["manager"],
    )
    for manager, values in sorted(snapshot.items()):
        delivered.add_metric([manager], values.get("total", 0))
        spooled.add_metric([manager], values.get("spooled", 0))
        resent.add_metric([manager], values.get("resent", 0))
        spool_failing.add_metric([manager], 1.0 if values.get("spool_failing") else 0.0)
        queued.add_metric([manager], values.get("queue_batches", 0))
        spool_batches.add_metric([manager], values.get("spool_batches", 0))
        spool_bytes.add_metric([manager], values.get("spool_bytes", 0))
        if histogram := values.get("enqueued_seconds"):
            buckets = [(_le(bound), count) for bound, count in histogram["buckets"]]
            waits.add_metric([manager], buckets, histogram["sum"])
        for sender, state in sorted(values.get("connections", {}).items()):
            reconnects.add_metric([sender], state.get("reconnects", 0))
            down.add_metric([sender], 1.0 if state.get("down") else 0.0)
    yield from (delivered, spooled, resent, queued, spool_batches, spool_bytes, spool_failing, reconnects, down, waits)


def _le(bound: float) -> str:
    """A histogram bucket's `le` label: `0.005`, `1.0`, `+Inf`."""
    return "+Inf" if math.isinf(bound) else repr(float(bound))
