"""The S3 event notification a backfill sends for an existing object: the shape S3 itself sends, so the
collector (and any other consumer of the queue) reads it as an ordinary `ObjectCreated` event. The key is
URL-encoded as S3 encodes it (`+` for a space, `/` kept); size and ETag come from the listing.

ListObjectsV2 names no version, so neither does the event: the collector reads the object's current version.
"""

from __future__ import annotations

from datetime import UTC
from urllib.parse import quote_plus

import orjson

from devo_sqs.backfill.listing import ListedObject

CONFIGURATION_ID = "devo-sqs-backfill"  # where S3 puts the id of the notification configuration that matched


def encode_key(key: str) -> str:
    return quote_plus(key, safe="/")


def s3_event(bucket: str, obj: ListedObject, *, region: str) -> bytes:
    created = obj.last_modified.astimezone(UTC)
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": CONFIGURATION_ID,
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": encode_key(obj.key), "size": obj.size, "eTag": obj.etag},
        },
    }
    return orjson.dumps({"Records": [record]})
