"""Interop with the reference server: the same records reach a real rsyslogd over plain TCP and mutual TLS,
byte for byte as RFC 3164 frames (`<14>MMM dd HH:MM:SS host tag: message`)."""

from __future__ import annotations

import re
import socket
from collections import Counter
from pathlib import Path

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import INTERNAL_TAG_PREFIX, input_config, lines_of, ndjson_object, sample, wait_until
from tests.support.certs import Pki
from tests.support.collector_process import CollectorProcess
from tests.support.rsyslog import Rsyslog

FRAME = re.compile(
    r"^<14>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d (?P<host>\S+) (?P<tag>[A-Za-z0-9_.-]+): (?P<message>.*)$"
)


def test_rsyslog_receives_every_record_on_plain_tcp_and_on_mutual_tls(
    moto: LocalAws, rsyslog: Rsyslog, pki: Pki, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector")
    body, expected = ndjson_object(0, 5000)
    moto.client("s3").put_object(Bucket="logs", Key="app/part-0.json.gz", Body=body)
    moto.client("s3").put_object(Bucket="logs", Key="x/elasticloadbalancing/alb.log.gz", Body=sample("alb.log.gz"))
    expected["web.aws.alb.access"] = lines_of("alb.log.gz")
    per_output = sum(len(messages) for messages in expected.values())
    config = {
        "globals": {"persistence": {"config": {"directory_name": str(tmp_path / "state")}}},
        "outputs": {
            "plain": {"type": "relay", "address": "127.0.0.1", "port": rsyslog.tcp_port},
            "tls": {
                "type": "syslog",
                "address": "127.0.0.1",
                "port": rsyslog.tls_port,
                "chain": str(pki.ca_chain),
                "cert": str(pki.client.cert),
                "key": str(pki.client.key),
            },
        },
        "inputs": {"sqs_collector": input_config(queue.queue_url, moto.url)},
    }
    with CollectorProcess(config, directory=tmp_path) as collector:
        collected = lambda: sum(INTERNAL_TAG_PREFIX not in line for line in rsyslog.lines())  # noqa: E731
        assert wait_until(lambda: collected() >= 2 * per_output, timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: moto.queue_depth(queue.queue_url) == (0, 0), timeout=30)
        assert collector.terminate()[0] == 0
    frames = [FRAME.match(line) for line in rsyslog.lines()]
    assert all(frames), [line for line, frame in zip(rsyslog.lines(), frames, strict=True) if not frame][:3]
    assert {frame["host"] for frame in frames if frame} == {socket.gethostname()}
    received = Counter(
        (frame["tag"], frame["message"])
        for frame in frames
        if frame and not frame["tag"].startswith(INTERNAL_TAG_PREFIX)
    )
    assert received == Counter({(tag, message): 2 for tag, messages in expected.items() for message in messages})
