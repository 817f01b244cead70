"""SQS message body -> the S3 objects it announces.

Accepted: S3 event notifications (keys URL-encoded, `+` is a space), the same wrapped in SNS, EventBridge
"Object Created" events, CrowdStrike FDR notifications, and AWS Config delivery notifications.
`s3:TestEvent` and non-create events announce nothing and are acknowledged.

With `allowed_buckets`, a notification naming any other bucket is refused whole (a NotificationError, so a
permanent failure of the message): whoever can write to the queue cannot point the collector at another bucket.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson

from devo_sqs.errors import NotificationError

CONFIG_DELIVERIES = ("ConfigurationHistoryDeliveryCompleted", "ConfigurationSnapshotDeliveryCompleted")


@dataclass(frozen=True, slots=True)
class ObjectRef:
    bucket: str
    key: str  # decoded: exactly as stored in S3
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    raw_key: str | None = None  # the key as the notification spelled it, tried when the decoded one is missing


@dataclass(frozen=True, slots=True)
class Notification:
    kind: str  # "s3", "sns", "eventbridge", "fdr", "config", "test"
    objects: tuple[ObjectRef, ...]
    ignored: int = 0  # events that announce nothing to collect (tests, deletions, ...)


def parse_notification(body: str | bytes, *, allowed_buckets: Collection[str] | None = None) -> Notification:
    """Raise NotificationError when the body is not a notification devo-sqs understands, or names a bucket
    outside `allowed_buckets` (None: any bucket)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotificationError(f"message body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise NotificationError("message body is not a JSON object")
    notification = _parse(document, wrapped=False)
    if allowed_buckets is not None:
        _only_allowed_buckets(notification, allowed_buckets)
    return notification


def _only_allowed_buckets(notification: Notification, allowed: Collection[str]) -> None:
    foreign = sorted({ref.bucket for ref in notification.objects if ref.bucket not in allowed}, key=str)
    if foreign:
        names = ("bucket " if len(foreign) == 1 else "buckets ") + ", ".join(repr(bucket) for bucket in foreign)
        raise NotificationError(
            f"{notification.kind} notification names {names} outside allowed_buckets ({', '.join(allowed)})"
        )


def _parse(document: dict[str, Any], *, wrapped: bool) -> Notification:
    if document.get("Type") == "Notification" and "Message" in document and not wrapped:
        message = document["Message"]
        inner = parse_notification(message) if isinstance(message, str) else _parse(message, wrapped=True)
        return Notification("sns", inner.objects, inner.ignored)
    if document.get("Event") == "s3:TestEvent":
        return Notification("test", (), 1)
    if isinstance(document.get("Records"), list):
        return _s3_event(document["Records"])
    if document.get("source") == "aws.s3" and "detail" in document:
        return _eventbridge(document)
    if isinstance(document.get("files"), list) and "bucket" in document:
        return _fdr(document)
    if "messageType" in document:
        return _config_delivery(document)
    raise NotificationError(f"not an S3, SNS, EventBridge or FDR notification (keys: {', '.join(list(document)[:8])})")


def _s3_event(records: list[Any]) -> Notification:
    objects, ignored = [], 0
    for record in records:
        s3 = record.get("s3") if isinstance(record, dict) else None
        if not isinstance(s3, dict) or not str(record.get("eventName", "ObjectCreated")).startswith("ObjectCreated"):
            ignored += 1
            continue
        try:
            bucket, obj = s3["bucket"]["name"], s3["object"]
            objects.append(_ref(bucket, obj["key"], obj.get("size"), obj.get("eTag"), obj.get("versionId")))
        except (KeyError, TypeError) as exc:
            raise NotificationError(f"S3 event record without bucket/key: {exc}") from None
    return Notification("s3", tuple(objects), ignored)


def _ref(bucket: str, key: str, size: int | None, etag: str | None, version_id: str | None) -> ObjectRef:
    """S3 URL-encodes keys in notifications (`+` is a space); keep the spelling in case a sender did not."""
    decoded = unquote_plus(key)
    return ObjectRef(bucket, decoded, size, etag, version_id, raw_key=key if key != decoded else None)


def _eventbridge(document: dict[str, Any]) -> Notification:
    if document.get("detail-type") != "Object Created":
        return Notification("eventbridge", (), 1)
    try:
        detail = document["detail"]
        obj = detail["object"]
        ref = _ref(detail["bucket"]["name"], obj["key"], obj.get("size"), obj.get("etag"), obj.get("version-id"))
    except (KeyError, TypeError) as exc:
        raise NotificationError(f"EventBridge event without bucket/key: {exc}") from None
    return Notification("eventbridge", (ref,), 0)


def _fdr(document: dict[str, Any]) -> Notification:
    try:
        bucket = document["bucket"]
        refs = tuple(ObjectRef(bucket, item["path"], item.get("size")) for item in document["files"])
    except (KeyError, TypeError) as exc:
        raise NotificationError(f"FDR notification without bucket/files[].path: {exc}") from None
    return Notification("fdr", refs, 0)


def _config_delivery(document: dict[str, Any]) -> Notification:
    if document["messageType"] not in CONFIG_DELIVERIES:
        return Notification("config", (), 1)
    try:
        return Notification("config", (ObjectRef(document["s3Bucket"], document["s3ObjectKey"]),), 0)
    except KeyError as exc:
        raise NotificationError(f"AWS Config notification without {exc}") from None
