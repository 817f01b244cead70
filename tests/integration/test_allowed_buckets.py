"""`allowed_buckets` with the collector as a real process: a notification naming another bucket fails
permanently and ends in the dead-letter queue, while the allowed bucket's objects are delivered exactly."""

from __future__ import annotations

from pathlib import Path

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import ndjson_object, put_objects, received, relay_config, wait_until
from tests.support.collector_process import CollectorProcess
from tests.support.syslog_receiver import SyslogReceiver


def test_a_notification_for_a_foreign_bucket_ends_in_the_dead_letter_queue_and_good_objects_arrive_exactly(
    moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", redrive_dlq=2, visibility_timeout=10)
    assert queue.dlq_url is not None
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="foreign")
    foreign_body, _ = ndjson_object(900_000, 50)
    s3.put_object(Bucket="foreign", Key="app/planted.json.gz", Body=foreign_body)  # readable: only the list refuses it
    foreign_message = moto.send_eventbridge_event(queue.queue_url, "foreign", "app/planted.json.gz")
    expected = put_objects(moto, "logs", objects=3, records=1000)
    config = relay_config(
        tmp_path, queue, moto, syslog_receiver.port, sqs_visibility_timeout=10, allowed_buckets=["logs"]
    )
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: received(syslog_receiver) == expected, timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: moto.queue_depth(queue.dlq_url) == (1, 0), timeout=90), collector.log()[-3000:]
        assert wait_until(lambda: moto.queue_depth(queue.queue_url) == (0, 0), timeout=30), collector.log()[-3000:]
        assert collector.terminate()[0] == 0
    assert received(syslog_receiver) == expected  # each good record exactly once, nothing from the foreign bucket
    [dead] = moto.client("sqs").receive_message(QueueUrl=queue.dlq_url)["Messages"]
    assert dead["MessageId"] == foreign_message
    refusals = [line for line in collector.log().splitlines() if "outside allowed_buckets" in line]
    assert len(refusals) == 2  # once per receive, then the queue's redrive policy moved it
    assert all(
        line.endswith(
            f"Message {foreign_message} (receive count {count}) failed permanently: eventbridge notification names "
            f"bucket 'foreign' outside allowed_buckets (logs); left to the dead-letter policy, back in {delay} s"
        )
        for line, (count, delay) in zip(refusals, [(1, 5), (2, 10)], strict=True)
    ), refusals
