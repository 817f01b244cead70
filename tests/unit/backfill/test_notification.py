"""A backfill's notification is an ordinary S3 event to the collector: the same object, key, size and ETag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from devo_sqs.backfill.listing import ListedObject
from devo_sqs.backfill.notification import encode_key, s3_event
from devo_sqs.ingest.notifications import ObjectRef, parse_notification

KEYS = [
    "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/16/111122223333_CloudTrail_us-east-1_20240116T1205Z_a.json.gz",
    "AWSLogs/123456789012/Config/us-east-2/2016/9/27/ConfigHistory/123456789012_Config_us-east-2_ConfigHistory_"
    "AWS::CloudTrail::Trail_20160927T195818Z_20160927T195818Z_1.json.gz",
    "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/year=2021/flows.parquet",
    "exports/report 1+2 (final).log",
    "exports/größe/日志 50%.log",
    "a//b/",
]


@pytest.mark.parametrize("key", KEYS)
def test_the_collector_reads_the_listed_object_back_from_the_notification(key: str) -> None:
    obj = ListedObject(key, 1234, "9b2cf535f27731c974343645a3985328-3", datetime(2024, 1, 16, 12, 5, tzinfo=UTC))
    notification = parse_notification(s3_event("my-log-bucket", obj, region="eu-west-1"))
    [ref] = notification.objects
    assert (notification.kind, notification.ignored) == ("s3", 0)
    spelled = encode_key(key)
    etag = "9b2cf535f27731c974343645a3985328-3"
    assert ref == ObjectRef("my-log-bucket", key, 1234, etag, None, raw_key=spelled if spelled != key else None)


def test_keys_are_encoded_as_s3_encodes_them() -> None:
    assert encode_key("exports/report 1+2 (final).log") == "exports/report+1%2B2+%28final%29.log"
    assert encode_key("Config/AWS::EC2::Instance/x=1") == "Config/AWS%3A%3AEC2%3A%3AInstance/x%3D1"
    assert encode_key("a/größe") == "a/gr%C3%B6%C3%9Fe"


def test_the_event_has_the_shape_s3_sends() -> None:
    created = datetime(2024, 1, 16, 13, 5, 7, 891_000, tzinfo=timezone(timedelta(hours=1)))
    body = orjson.loads(s3_event("logs", ListedObject("a b.log", 6, "e3b0", created), region="eu-west-1"))
    assert body == {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "eventTime": "2024-01-16T12:05:07.891Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "devo-sqs-backfill",
                    "bucket": {"name": "logs", "arn": "arn:aws:s3:::logs"},
                    "object": {"key": "a+b.log", "size": 6, "eTag": "e3b0"},
                },
            }
        ]
    }
