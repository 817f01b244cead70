"""S3 in memory, path style (`/bucket/key`, the key URL-encoded) as boto3 speaks it to an endpoint on an IP
address: buckets, PUT / GET / HEAD of objects with single byte ranges, S3's XML errors (NoSuchKey, NoSuchBucket,
InvalidRange), and ObjectCreated notifications to memory queues with the event JSON S3 sends.

Not modelled: listing, versioning, multipart uploads, deletes, SNS/EventBridge destinations.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qs, quote_plus, unquote, urlsplit
from xml.sax.saxutils import escape

from tests.support.memory_sqs import REGION, SqsApi

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
OWNER_ID = "A3NL1KOZZKEXAMPLE"
CREATED_EVENT = "ObjectCreated:Put"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def reply(self, request_id: str) -> Reply:
        fields = {"Code": self.code, "Message": self.message, **self.details, "RequestId": request_id}
        body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields.items())
        document = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'.encode()
        return Reply(self.status, {"Content-Type": "application/xml"}, document)


def not_implemented(what: str) -> S3Error:
    return S3Error(501, "NotImplemented", f"{what} is not implemented by this in-memory endpoint.")


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    etag: str  # md5 hex, as S3 gives for a single-part upload
    content_type: str
    last_modified: float  # time.time()


@dataclass(frozen=True)
class QueueNotification:
    """One QueueConfiguration of a bucket: ObjectCreated events for keys with this prefix and suffix."""

    configuration_id: str
    queue_arn: str
    prefix: str = ""
    suffix: str = ""

    def wants(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


def object_created_event(bucket: str, key: str, stored: StoredObject, *, configuration_id: str, sequencer: str) -> str:
    """The notification S3 puts in a queue (event version 2.1); the key URL-encoded as S3 does ("a b:c" ->
    "a+b%3Ac", "/" kept)."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stored.last_modified)) + ".000Z",
        "eventName": CREATED_EVENT,
        "userIdentity": {"principalId": f"AWS:{OWNER_ID}"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": OWNER_ID}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": len(stored.data),
                "eTag": stored.etag,
                "sequencer": sequencer,
            },
        },
    }
    return json.dumps({"Records": [record]}, separators=(",", ":"))


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last), inclusive, of a single `bytes=` range; None for the whole object (no header, or one S3
    ignores: malformed, several ranges, last before first). Unsatisfiable ranges are InvalidRange."""
    match = SINGLE_RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:
        length = int(last)
        if length == 0 or size == 0:
            raise _invalid_range(header or "", size)
        return max(0, size - length), size - 1
    if int(first) >= size:
        raise _invalid_range(header or "", size)
    end = min(int(last), size - 1) if last else size - 1
    return None if end < int(first) else (int(first), end)


def _invalid_range(header: str, size: int) -> S3Error:
    return S3Error(
        416, "InvalidRange", "The requested range is not satisfiable", RangeRequested=header, ActualObjectSize=str(size)
    )


class S3Api:
    """Buckets and objects of one endpoint. `handle` answers one HTTP request (errors included)."""

    def __init__(self, sqs: SqsApi) -> None:
        self._sqs = sqs
        self._buckets: dict[str, dict[str, StoredObject]] = {}
        self._notifications: dict[str, list[QueueNotification]] = {}
        self._lock = threading.Lock()
        self._sequence = itertools.count(time.time_ns())

    def operation(self, method: str, target: str) -> str:
        """The S3 operation a request is (for the endpoint's counters)."""
        _, key, query = self._parse(target)
        if key:
            return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject"}.get(method, method)
        return "PutBucketNotificationConfiguration" if "notification" in query else f"{method}Bucket"

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        bucket, key, query = self._parse(target)
        if method == "PUT" and not key:
            return self._put_bucket(bucket, query, body)
        if not key:
            raise not_implemented(f"{method} on a bucket")
        if method == "PUT":
            return self._put_object(bucket, key, query, headers, body)
        if method in ("GET", "HEAD"):
            return self._get_object(bucket, key, query, headers.get("range"), head=method == "HEAD")
        raise not_implemented(f"{method} of an object")

    @staticmethod
    def _parse(target: str) -> tuple[str, str, dict[str, list[str]]]:
        parts = urlsplit(target)
        bucket, _, key = parts.path.lstrip("/").partition("/")
        return unquote(bucket), unquote(key), parse_qs(parts.query, keep_blank_values=True)

    # --- buckets ----------------------------------------------------------------------------------------------

    def _put_bucket(self, bucket: str, query: dict[str, list[str]], body: bytes) -> Reply:
        if "notification" in query:
            self._configure_notifications(bucket, body)
            return Reply(200)
        if set(query) - {"x-id"}:
            raise not_implemented(f"PUT bucket ?{'&'.join(query)}")
        if not BUCKET_NAME.match(bucket):
            raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=bucket)
        with self._lock:
            self._buckets.setdefault(bucket, {})  # us-east-1: creating your own bucket again succeeds
        return Reply(200, {"Location": f"/{bucket}"})

    def _objects(self, bucket: str) -> dict[str, StoredObject]:
        objects = self._buckets.get(bucket)
        if objects is None:
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)
        return objects

    def _configure_notifications(self, bucket: str, document: bytes) -> None:
        """QueueConfigurations only (with prefix/suffix filters); S3 then sends an s3:TestEvent to each queue."""
        root = ElementTree.fromstring(document)
        if root.find("{*}TopicConfiguration") is not None or root.find("{*}CloudFunctionConfiguration") is not None:
            raise not_implemented("Notifications to SNS or Lambda")
        if root.find("{*}EventBridgeConfiguration") is not None:
            raise not_implemented("Notifications to EventBridge")
        configurations = [self._queue_configuration(element) for element in root.findall("{*}QueueConfiguration")]
        with self._lock:
            self._objects(bucket)
            self._notifications[bucket] = configurations
        for configuration in configurations:
            self._send(configuration.queue_arn, [self._test_event(bucket)])

    def _queue_configuration(self, element: ElementTree.Element) -> QueueNotification:
        arn = element.findtext("{*}Queue", "")
        if self._sqs.queue_by_arn(arn) is None:
            raise S3Error(
                400,
                "InvalidArgument",
                "Unable to validate the following destination configurations",
                ArgumentName=arn,
                ArgumentValue="The destination queue does not exist",
            )
        events = [event.text or "" for event in element.findall("{*}Event")]
        if not any(event in ("s3:ObjectCreated:*", f"s3:{CREATED_EVENT}") for event in events):
            raise not_implemented(f"Notifications of {events}")
        rules = {
            (rule.findtext("{*}Name") or "").lower(): rule.findtext("{*}Value") or ""
            for rule in element.findall("{*}Filter/{*}S3Key/{*}FilterRule")
        }
        return QueueNotification(
            element.findtext("{*}Id") or str(uuid.uuid4()), arn, rules.get("prefix", ""), rules.get("suffix", "")
        )

    @staticmethod
    def _test_event(bucket: str) -> str:
        return json.dumps(
            {
                "Service": "Amazon S3",
                "Event": "s3:TestEvent",
                "Time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "Bucket": bucket,
                "RequestId": uuid.uuid4().hex[:16].upper(),
                "HostId": uuid.uuid4().hex,
            }
        )

    # --- objects ----------------------------------------------------------------------------------------------

    def _put_object(
        self, bucket: str, key: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        if set(query) - {"x-id"}:
            raise not_implemented(f"PUT object ?{'&'.join(query)}")
        if "aws-chunked" in headers.get("content-encoding", ""):
            raise not_implemented("aws-chunked uploads")
        stored = StoredObject(
            body, hashlib.md5(body).hexdigest(), headers.get("content-type", "binary/octet-stream"), time.time()
        )
        with self._lock:
            self._objects(bucket)[key] = stored
            wanted = [c for c in self._notifications.get(bucket, []) if c.wants(key)]
        for configuration in wanted:
            self._send(configuration.queue_arn, [self._event(bucket, key, stored, configuration.configuration_id)])
        return Reply(200, {"ETag": f'"{stored.etag}"'})

    def _get_object(
        self, bucket: str, key: str, query: dict[str, list[str]], range_header: str | None, *, head: bool
    ) -> Reply:
        if set(query) - {"x-id", "versionId"}:
            raise not_implemented(f"GET object ?{'&'.join(query)}")
        with self._lock:
            stored = self._objects(bucket).get(key)
        if stored is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        if query.get("versionId", ["null"]) != ["null"]:  # unversioned objects have the version "null"
            raise S3Error(404, "NoSuchVersion", "The specified version does not exist.", Key=key)
        headers = {
            "ETag": f'"{stored.etag}"',
            "Last-Modified": formatdate(stored.last_modified, usegmt=True),
            "Content-Type": stored.content_type,
            "Accept-Ranges": "bytes",
        }
        span = byte_range(range_header, len(stored.data))
        if span is None:
            return Reply(200, headers, stored.data)
        first, last = span
        headers["Content-Range"] = f"bytes {first}-{last}/{len(stored.data)}"
        return Reply(206, headers, stored.data[first : last + 1])

    # --- notifications ------------------------------------------------------------------------------------------

    def announce(self, queue_url: str, bucket: str, keys: list[str]) -> int:
        """ObjectCreated events for objects already stored, put in a queue at one instant: a backlog appears at
        once, as after an outage or a backfill. Returns how many were sent."""
        queue = self._sqs.queue(queue_url)
        with self._lock:
            objects = self._objects(bucket)
            missing = [key for key in keys if key not in objects]
            if missing:
                raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=missing[0])
            stored = [(key, objects[key]) for key in keys]
        queue.send([self._event(bucket, key, item, "memory-announce") for key, item in stored])
        return len(stored)

    def _event(self, bucket: str, key: str, stored: StoredObject, configuration_id: str) -> str:
        sequencer = f"{next(self._sequence):018X}"
        return object_created_event(bucket, key, stored, configuration_id=configuration_id, sequencer=sequencer)

    def _send(self, queue_arn: str, bodies: list[str]) -> None:
        queue = self._sqs.queue_by_arn(queue_arn)
        if queue is not None:  # checked when the configuration was set; queues are never deleted
            queue.send(bodies)
