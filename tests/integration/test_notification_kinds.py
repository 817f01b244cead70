"""Every notification shape reaches the same records: S3 events (keys with spaces and `+`), SNS-wrapped events,
EventBridge "Object Created" events, and `s3:TestEvent` (acknowledged and skipped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import collected_by_tag, input_config, wait_until
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver

KEYS = {"app/with space/a+b.log": "first", "app/plain/c%d.log": "second", "app/x=1;y/z@w.log": "third"}


def relay_config(tmp_path: Path, queue_url: str, endpoint: str, port: int) -> dict[str, Any]:
    service = {
        "key_pattern": "^app/",
        "file_format": {"type": "line_split_processor"},
        "file_field_definitions": {"folder": [{"operator": "split", "on": "/", "element": 1}]},
        "routing_template": "my.app.[file-folder]",
    }
    return {
        "globals": {"persistence": {"config": {"directory_name": str(tmp_path / "state")}}},
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": port}},
        "inputs": {"sqs_collector": input_config(queue_url, endpoint, services={"lines": service})},
    }


@pytest.mark.parametrize("route", ["s3", "sns", "eventbridge"])
def test_objects_announced_any_way_are_collected_and_the_queue_drained(
    route: str, moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", via_sns=route == "sns", eventbridge=route == "eventbridge")
    for key, line in KEYS.items():
        moto.client("s3").put_object(Bucket="logs", Key=key, Body=f"{line}\n".encode())
        if route == "eventbridge":
            moto.send_eventbridge_event(queue.queue_url, "logs", key)
    with CollectorProcess(
        relay_config(tmp_path, queue.queue_url, moto.url, syslog_receiver.port), directory=tmp_path
    ) as c:
        assert syslog_receiver.wait_for(3, timeout=60), c.log()[-3000:]
        assert wait_until(lambda: moto.queue_depth(queue.queue_url) == (0, 0), timeout=30), c.log()[-3000:]
        assert c.terminate()[0] == 0
    assert collected_by_tag(syslog_receiver) == {
        "my.app.with_space": ["first"],
        "my.app.plain": ["second"],
        "my.app.x_1_y": ["third"],
    }
    log = c.log()
    test_events = 0 if route == "eventbridge" else 1
    assert f"'messages_deleted': {3 + test_events}," in log
    assert f"'notifications_ignored': {test_events}," in log
    assert "Traceback" not in log and " ERROR " not in log
