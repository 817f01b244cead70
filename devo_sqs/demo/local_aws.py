"""A local S3/SQS/SNS endpoint (moto in server mode on loopback) and the bucket -> queue wiring the collector
reads. `devo-sqs demo` runs against it, and so do the integration tests.

What moto sends, checked with moto 5.2 (AWS differs where noted, so the collector must accept both):
- Configuring a notification puts an `s3:TestEvent` in the queue right away (also through SNS), like AWS:
  `{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "<ISO8601 ms>Z", "Bucket": "<bucket>"}`
  (AWS adds "RequestId" and "HostId").
- Object created, key "a b+c/d.log": `{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
  "awsRegion": "us-east-1", "eventTime": "...Z", "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion":
  "1.0", "configurationId": "<random>", "bucket": {"name": ..., "arn": "arn:aws:s3:::<bucket>"}, "object":
  {"key": "a+b%2Bc%2Fd.log", "size": 6, "eTag": "<md5 hex>"}}}]}`. The key is `quote_plus(key, safe="")`:
  moto also encodes "/" as %2F (AWS leaves "/"); `unquote_plus` decodes both. No `sequencer`, `versionId`,
  `userIdentity`, `requestParameters` or `responseElements`.
- Through SNS the body is the SNS envelope: "Type": "Notification", "Message" holding the JSON above as a
  string, "TopicArn", "MessageId", "Timestamp", "Signature*", "UnsubscribeURL"; no "Subject" (AWS sends
  "Amazon S3 Notification").
- moto does not check queue or topic policies, so none are set here.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3.session
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass(frozen=True)
class QueueSetup:
    """What `make_bucket_to_queue` created."""

    bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str | None  # the dead-letter queue, when a redrive policy was asked for
    topic_arn: str | None  # the SNS topic between bucket and queue, when via_sns


class LocalAws:
    """moto's threaded server on 127.0.0.1 plus boto3 clients pointed at it. moto keeps its state per process,
    so every LocalAws of a process serves the same buckets and queues."""

    def __init__(self, *, port: int = 0) -> None:
        self._port = port  # 0: any free port; a fixed one lets a test restart "the same" endpoint
        self._server: ThreadedMotoServer | None = None
        self._url = ""
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()  # boto3 is not thread-safe while it builds a client

    def start(self) -> LocalAws:
        """Serve in a background thread; werkzeug's per-request log lines are silenced."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._url = f"http://{host}:{port}"
        self._clients = {}
        return self

    def stop(self) -> None:
        """Shut the server down and join its thread; also closes the listening socket moto leaves open."""
        if self._server is None:
            return
        for client in self._clients.values():
            client.close()  # ends keep-alive connections, so werkzeug's handler threads end too
        self._clients = {}
        self._server.stop()
        werkzeug_server = getattr(self._server, "_server", None)
        if werkzeug_server is not None:
            werkzeug_server.server_close()
        self._server = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Endpoint URL for boto3 and the collector's config, e.g. http://127.0.0.1:41273."""
        return self._url

    def reset(self) -> None:
        """Forget every bucket, queue and topic (POST /moto-api/reset)."""
        request = urllib.request.Request(f"{self._url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on this endpoint (region us-east-1, dummy credentials).

        Cached per service (building one takes tens of ms); a built client may be shared between threads.
        """
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = boto3.session.Session().client(
                    service,
                    endpoint_url=self._url,
                    region_name=REGION,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                )
            return self._clients[service]

    # --- wiring a bucket to a queue ---------------------------------------------------------------------

    def make_bucket_to_queue(
        self,
        bucket: str,
        queue: str,
        *,
        prefix: str | None = None,
        suffix: str | None = None,
        via_sns: bool = False,
        eventbridge: bool = False,
        redrive_dlq: int | None = None,
        visibility_timeout: int | None = None,
    ) -> QueueSetup:
        """Create `bucket` and `queue` and make object-created events reach the queue.

        `redrive_dlq` is the maxReceiveCount after which a message moves to a new queue "<queue>-dlq".
        `visibility_timeout` is in seconds. With `eventbridge` nothing is configured on the bucket: send the
        events with `send_eventbridge_event`. The s3:TestEvent AWS sends on configuration stays in the queue.
        """
        self.client("s3").create_bucket(Bucket=bucket)
        dlq_url = self._create_dlq(queue) if redrive_dlq else None
        queue_url, queue_arn = self._create_queue(
            queue, dlq_url=dlq_url, max_receive_count=redrive_dlq, visibility_timeout=visibility_timeout
        )
        topic_arn = None
        destination = {"QueueArn": queue_arn}
        if via_sns:
            topic_arn = self._create_topic_to_queue(f"{queue}-topic", queue_arn=queue_arn)
            destination = {"TopicArn": topic_arn}
        if not eventbridge:
            self._notify(bucket, destination=destination, filter_rules=_filter_rules(prefix, suffix))
        return QueueSetup(bucket=bucket, queue_url=queue_url, queue_arn=queue_arn, dlq_url=dlq_url, topic_arn=topic_arn)

    def _create_queue(
        self, name: str, *, dlq_url: str | None, max_receive_count: int | None, visibility_timeout: int | None
    ) -> tuple[str, str]:
        """Create a queue with the optional redrive policy and visibility timeout; return (url, arn)."""
        attributes: dict[str, str] = {}
        if visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(visibility_timeout)
        if dlq_url is not None:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": self._queue_arn(dlq_url), "maxReceiveCount": max_receive_count}
            )
        url: str = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url, self._queue_arn(url)

    def _create_dlq(self, queue: str) -> str:
        """The dead-letter queue "<queue>-dlq"."""
        url: str = self.client("sqs").create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
        return url

    def _create_topic_to_queue(self, name: str, *, queue_arn: str) -> str:
        """An SNS topic with the queue subscribed (envelope kept: no raw message delivery)."""
        sns = self.client("sns")
        topic_arn: str = sns.create_topic(Name=name)["TopicArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        return topic_arn

    def _notify(self, bucket: str, *, destination: dict[str, str], filter_rules: list[dict[str, str]]) -> None:
        """Send the bucket's s3:ObjectCreated:* events to a queue or topic."""
        configuration: dict[str, Any] = {**destination, "Events": ["s3:ObjectCreated:*"]}
        if filter_rules:
            configuration["Filter"] = {"Key": {"FilterRules": filter_rules}}
        kind = "QueueConfigurations" if "QueueArn" in destination else "TopicConfigurations"
        self.client("s3").put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={kind: [configuration]}
        )

    def _queue_arn(self, queue_url: str) -> str:
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        arn: str = attributes["Attributes"]["QueueArn"]
        return arn

    # --- events and queue state -------------------------------------------------------------------------

    def send_eventbridge_event(self, queue_url: str, bucket: str, key: str) -> str:
        """Put the "Object Created" event EventBridge would deliver to an SQS target; return its message id.

        The body is the bare event (EventBridge adds no envelope). The key is NOT URL-encoded: real events
        show "/" and ":" verbatim. Size and ETag come from the object when it exists (0 and "" otherwise).
        """
        body = json.dumps(_eventbridge_object_created(bucket, key, **self._size_and_etag(bucket, key)))
        message_id: str = self.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]
        return message_id

    def _size_and_etag(self, bucket: str, key: str) -> dict[str, Any]:
        try:
            head = self.client("s3").head_object(Bucket=bucket, Key=key)
        except ClientError:
            return {"size": 0, "etag": ""}
        return {"size": head["ContentLength"], "etag": head["ETag"].strip('"')}

    def queue_depth(self, queue_url: str) -> tuple[int, int]:
        """(ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible) of the queue."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        return int(attributes["Attributes"][names[0]]), int(attributes["Attributes"][names[1]])


def _filter_rules(prefix: str | None, suffix: str | None) -> list[dict[str, str]]:
    """S3 key filter rules for the given prefix and suffix (none when neither is set)."""
    rules = [{"Name": "prefix", "Value": prefix}] if prefix else []
    return rules + ([{"Name": "suffix", "Value": suffix}] if suffix else [])


def _eventbridge_object_created(bucket: str, key: str, *, size: int, etag: str) -> dict[str, Any]:
    """An S3 "Object Created" event as EventBridge sends it (fields from AWS's documented example)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag, "sequencer": uuid.uuid4().hex[:18].upper()},
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": ACCOUNT_ID,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }
