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
from devo_sqs.messages import ObjectRef

__all__ = ["Notification", "ObjectRef", "parse_notification"]

CONFIG_DELIVERIES = ("ConfigurationHistoryDeliveryCompleted", "ConfigurationSnapshotDeliveryCompleted")


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
        if isinstance(message, str):
            inner = parse_notification(message)
        elif isinstance(message, dict):
            inner = _parse(message, wrapped=True)
        else:
            raise NotificationError(f"SNS notification whose Message is {_type(message)}, not a JSON string")
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
        bucket, obj = _field(s3, "bucket", dict, "S3 event record"), _field(s3, "object", dict, "S3 event record")
        objects.append(
            _ref(
                _text(bucket, "name", "S3 event bucket"),
                _text(obj, "key", "S3 event object"),
                _optional(obj, "size", int),
                _optional(obj, "eTag", str),
                _optional(obj, "versionId", str),
            )
        )
    return Notification("s3", tuple(objects), ignored)


def _ref(bucket: str, key: str, size: int | None, etag: str | None, version_id: str | None) -> ObjectRef:
    """S3 URL-encodes keys in notifications (`+` is a space); keep the spelling in case a sender did not."""
    decoded = unquote_plus(key)
    return ObjectRef(bucket, decoded, size, etag, version_id, raw_key=key if key != decoded else None)


def _eventbridge(document: dict[str, Any]) -> Notification:
    if document.get("detail-type") != "Object Created":
        return Notification("eventbridge", (), 1)
    detail = _field(document, "detail", dict, "EventBridge event")
    bucket, obj = (
        _field(detail, "bucket", dict, "EventBridge detail"),
        _field(detail, "object", dict, "EventBridge detail"),
    )
    ref = _ref(
        _text(bucket, "name", "EventBridge bucket"),
        _text(obj, "key", "EventBridge object"),
        _optional(obj, "size", int),
        _optional(obj, "etag", str),
        _optional(obj, "version-id", str),
    )
    return Notification("eventbridge", (ref,), 0)


def _fdr(document: dict[str, Any]) -> Notification:
    bucket = _text(document, "bucket", "FDR notification")
    files = [_field({"files[]": item}, "files[]", dict, "FDR notification") for item in document["files"]]
    refs = tuple(ObjectRef(bucket, _text(item, "path", "FDR files[]"), _optional(item, "size", int)) for item in files)
    return Notification("fdr", refs, 0)


def _config_delivery(document: dict[str, Any]) -> Notification:
    if document["messageType"] not in CONFIG_DELIVERIES:
        return Notification("config", (), 1)
    ref = ObjectRef(
        _text(document, "s3Bucket", "AWS Config notification"),
        _text(document, "s3ObjectKey", "AWS Config notification"),
    )
    return Notification("config", (ref,), 0)


def _field(document: dict[str, Any], name: str, kind: type, where: str) -> Any:
    """`document[name]`, which must be present and of `kind`; else the message is not a usable notification."""
    value = document.get(name)
    if value is None and name not in document:
        raise NotificationError(f"{where} without {name!r}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise NotificationError(f"{where}: {name!r} is {_type(value)}, not {_TYPE_NAMES[kind]}")
    return value


def _text(document: dict[str, Any], name: str, where: str) -> str:
    value: str = _field(document, name, str, where)
    if not value:
        raise NotificationError(f"{where}: {name!r} is empty")
    return value


def _optional(document: dict[str, Any], name: str, kind: type) -> Any:
    """An optional field of the wrong type is ignored rather than trusted (size, ETag, version id)."""
    value = document.get(name)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


_TYPE_NAMES = {str: "a string", int: "a number", dict: "an object", list: "a list"}


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return _TYPE_NAMES.get(type(value), type(value).__name__)
