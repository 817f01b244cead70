"""`allowed_buckets`: a notification naming any other bucket is refused whole, whatever its kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devo_sqs.errors import NotificationError
from devo_sqs.ingest.notifications import ObjectRef, parse_notification

ALLOWED = ["logs", "audit"]


def s3(*buckets: str) -> dict[str, Any]:
    return {
        "Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": f"k/{n}.gz"}}}
            for n, bucket in enumerate(buckets)
        ]
    }


def sns(inner: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:t", "Message": json.dumps(inner)}


def eventbridge(bucket: str) -> dict[str, Any]:
    detail = {"bucket": {"name": bucket}, "object": {"key": "k/0.gz", "size": 5, "etag": "e"}}
    return {"detail-type": "Object Created", "source": "aws.s3", "detail": detail}


def fdr(bucket: str) -> dict[str, Any]:
    return {"cid": "c", "bucket": bucket, "files": [{"path": "data/part-0.gz", "size": 9}]}


def config_delivery(bucket: str) -> dict[str, Any]:
    return {"messageType": "ConfigurationSnapshotDeliveryCompleted", "s3Bucket": bucket, "s3ObjectKey": "k/0.gz"}


REFUSED = [
    (s3("evil"), "s3 notification names bucket 'evil' outside allowed_buckets (logs, audit)"),
    (
        s3("logs", "evil", "other"),
        "s3 notification names buckets 'evil', 'other' outside allowed_buckets (logs, audit)",
    ),
    (sns(s3("evil")), "sns notification names bucket 'evil' outside allowed_buckets (logs, audit)"),
    (sns(eventbridge("evil")), "sns notification names bucket 'evil' outside allowed_buckets (logs, audit)"),
    (eventbridge("evil"), "eventbridge notification names bucket 'evil' outside allowed_buckets (logs, audit)"),
    (fdr("cs-prod-cannon-x"), "fdr notification names bucket 'cs-prod-cannon-x' outside allowed_buckets (logs, audit)"),
    (config_delivery("evil"), "config notification names bucket 'evil' outside allowed_buckets (logs, audit)"),
]


KINDS = ["s3", "s3-several", "sns", "sns-eventbridge", "eventbridge", "fdr", "config"]


@pytest.mark.parametrize(("body", "reason"), REFUSED, ids=KINDS)
def test_a_notification_naming_a_bucket_outside_the_list_is_refused_with_the_bucket_named(
    body: dict[str, Any], reason: str
) -> None:
    with pytest.raises(NotificationError) as refused:
        parse_notification(json.dumps(body), allowed_buckets=ALLOWED)
    assert str(refused.value) == reason
    parse_notification(json.dumps(body))  # without the list, any bucket is collected


@pytest.mark.parametrize(
    ("body", "kind", "bucket"),
    [
        (s3("logs", "audit"), "s3", "logs"),
        (sns(s3("audit")), "sns", "audit"),
        (eventbridge("logs"), "eventbridge", "logs"),
        (fdr("logs"), "fdr", "logs"),
        (config_delivery("audit"), "config", "audit"),
    ],
)
def test_notifications_naming_only_allowed_buckets_pass(body: dict[str, Any], kind: str, bucket: str) -> None:
    notification = parse_notification(json.dumps(body), allowed_buckets=ALLOWED)
    assert notification.kind == kind
    assert notification.objects[0].bucket == bucket


def test_events_that_announce_nothing_are_not_refused_for_their_bucket() -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "evil"}
    removed = {"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "evil"}, "object": {}}}]}
    for body in (test_event, removed, sns(test_event)):
        notification = parse_notification(json.dumps(body), allowed_buckets=ALLOWED)
        assert (notification.objects, notification.ignored) == ((), 1)


def test_bucket_names_are_compared_exactly() -> None:
    with pytest.raises(NotificationError, match="names bucket 'Logs' outside"):
        parse_notification(json.dumps(s3("Logs")), allowed_buckets=ALLOWED)
    assert parse_notification(json.dumps(s3("logs")), allowed_buckets=ALLOWED).objects == (ObjectRef("logs", "k/0.gz"),)
