"""Notification bodies -> the objects they announce."""

from __future__ import annotations

import json

import pytest

from devo_sqs.errors import NotificationError
from devo_sqs.ingest.notifications import ObjectRef, parse_notification
from tests.support.realdata import needs_realdata, realdata


def s3_event(key: str, *, name: str = "ObjectCreated:Put", bucket: str = "logs") -> dict[str, object]:
    return {
        "eventSource": "aws:s3",
        "eventName": name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 12, "eTag": "abc", "versionId": "v1"}},
    }


def test_s3_event_keys_are_url_decoded_with_plus_as_space() -> None:
    body = json.dumps({"Records": [s3_event("AWSLogs/a+b%2Bc%3Ad.log.gz")]})
    notification = parse_notification(body)
    assert notification.kind == "s3"
    assert notification.objects == (
        ObjectRef("logs", "AWSLogs/a b+c:d.log.gz", 12, "abc", "v1", raw_key="AWSLogs/a+b%2Bc%3Ad.log.gz"),
    )


def test_plain_keys_keep_no_second_spelling() -> None:
    [ref] = parse_notification(json.dumps({"Records": [s3_event("plain/key.gz")]})).objects
    assert (ref.key, ref.raw_key) == ("plain/key.gz", None)


def test_non_create_events_and_test_events_announce_nothing_but_are_counted() -> None:
    body = json.dumps({"Records": [s3_event("gone.log", name="ObjectRemoved:Delete"), s3_event("new.log")]})
    notification = parse_notification(body)
    assert [ref.key for ref in notification.objects] == ["new.log"]
    assert notification.ignored == 1
    test = parse_notification('{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00Z"}')
    assert (test.kind, test.objects, test.ignored) == ("test", (), 1)


def test_sns_wrapped_notifications_are_unwrapped() -> None:
    inner = json.dumps({"Records": [s3_event("x/y z.log")]})
    body = json.dumps({"Type": "Notification", "MessageId": "m-1", "Message": inner, "TopicArn": "arn:t"})
    notification = parse_notification(body)
    assert notification.kind == "sns"
    assert [ref.key for ref in notification.objects] == ["x/y z.log"]


def test_eventbridge_object_created_events_name_bucket_and_key() -> None:
    body = {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {"bucket": {"name": "eb-bucket"}, "object": {"key": "k/1.json", "size": 5, "etag": "e"}},
    }
    assert parse_notification(json.dumps(body)).objects == (ObjectRef("eb-bucket", "k/1.json", 5, "e", None),)
    body["detail-type"] = "Object Deleted"
    assert parse_notification(json.dumps(body)).objects == ()


def test_crowdstrike_fdr_notifications_list_their_files() -> None:
    body = {
        "cid": "abc",
        "bucket": "cs-prod-cannon-abc",
        "pathPrefix": "data/2c1f",
        "fileCount": 2,
        "files": [{"path": "data/2c1f/part-00000.gz", "size": 10}, {"path": "data/2c1f/part-00001.gz", "size": 20}],
    }
    notification = parse_notification(json.dumps(body))
    assert notification.kind == "fdr"
    assert notification.objects == (
        ObjectRef("cs-prod-cannon-abc", "data/2c1f/part-00000.gz", 10),
        ObjectRef("cs-prod-cannon-abc", "data/2c1f/part-00001.gz", 20),
    )


def test_aws_config_delivery_notifications_name_the_delivered_object() -> None:
    body = {
        "messageType": "ConfigurationHistoryDeliveryCompleted",
        "s3Bucket": "cfg",
        "s3ObjectKey": "AWSLogs/1.json.gz",
    }
    assert parse_notification(json.dumps(body)).objects == (ObjectRef("cfg", "AWSLogs/1.json.gz"),)
    change = {"messageType": "ConfigurationItemChangeNotification", "configurationItem": {}}
    assert parse_notification(json.dumps(change)).ignored == 1


def typed_s3_event(*, bucket: object, key: object) -> str:
    """An S3 event with `bucket` as the bucket's name and `key` as the object key, whatever their types."""
    record = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
    return json.dumps({"Records": [record]})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "message body is not JSON"),
        ("[1, 2]", "message body is not a JSON object"),
        ('{"hello": "world"}', "not an S3, SNS, EventBridge or FDR notification (keys: hello)"),
        (
            '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {}}}]}',
            "S3 event record without 'object'",
        ),
        (typed_s3_event(bucket="b", key=123), "S3 event object: 'key' is a number, not a string"),
        (typed_s3_event(bucket="b", key=None), "S3 event object: 'key' is null, not a string"),
        (typed_s3_event(bucket="b", key=["a", "b"]), "S3 event object: 'key' is a list, not a string"),
        (typed_s3_event(bucket="b", key=""), "S3 event object: 'key' is empty"),
        (typed_s3_event(bucket={"name": "b"}, key="k"), "S3 event bucket: 'name' is an object, not a string"),
        (typed_s3_event(bucket=True, key="k"), "S3 event bucket: 'name' is a boolean, not a string"),
        ('{"Type": "Notification", "Message": 5}', "SNS notification whose Message is a number, not a JSON string"),
        ('{"Type": "Notification", "Message": null}', "SNS notification whose Message is null, not a JSON string"),
        ('{"bucket": "b", "files": [{"path": {"a": 1}}]}', "FDR files[]: 'path' is an object, not a string"),
        ('{"bucket": "b", "files": [7]}', "FDR notification: 'files[]' is a number, not an object"),
        ('{"bucket": 5, "files": []}', "FDR notification: 'bucket' is a number, not a string"),
        (
            '{"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "b"}, "object": 3}}',
            "EventBridge detail: 'object' is a number, not an object",
        ),
        (
            '{"messageType": "ConfigurationHistoryDeliveryCompleted", "s3Bucket": "b", "s3ObjectKey": []}',
            "AWS Config notification: 's3ObjectKey' is a list, not a string",
        ),
    ],
)
def test_bodies_that_are_not_notifications_raise_a_clear_error(body: str, reason: str) -> None:
    with pytest.raises(NotificationError) as raised:
        parse_notification(body)
    assert str(raised.value).startswith(reason)


def test_optional_fields_of_the_wrong_type_are_ignored_not_trusted() -> None:
    record = {"s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": "12", "eTag": 5, "versionId": []}}}
    assert parse_notification(json.dumps({"Records": [record]})).objects == (ObjectRef("b", "k"),)


@needs_realdata
def test_genuine_aws_config_sns_notifications() -> None:
    folder = realdata("aws_config")
    history = parse_notification((folder / "awsdocs_sns-config-history-delivery-notification.json").read_text())
    [ref] = history.objects
    assert ref.bucket == "config-bucket-123456789012-ohio"
    assert ref.key.endswith("_ConfigHistory_AWS::CloudTrail::Trail_20160927T195818Z_20160927T195818Z_1.json.gz")
    started = parse_notification(
        (folder / "awsdocs_sns-config-snapshot-delivery-started-notification.json").read_text()
    )
    assert (started.objects, started.ignored) == ((), 1)
