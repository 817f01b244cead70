"""SQS's JSON protocol (`X-Amz-Target: AmazonSQS.<Action>`) over MemoryQueue: the actions a collector, a bare
boto3 loop and their tests call, with SQS's validation, error codes and batch partial failures."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from tests.support.memory_queue import Delivery, MemoryQueue, SqsError

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
QUEUE_SETTINGS = {"VisibilityTimeout": 30, "DelaySeconds": 0, "ReceiveMessageWaitTimeSeconds": 0}  # SQS defaults
MESSAGE_ATTRIBUTES = ("ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "SentTimestamp", "SenderId")
SENDER_ID = "AIDAMEMORYENDPOINT"
# Queue attributes SQS knows that these queues never have: asked for, they are left out of the answer.
ABSENT_ATTRIBUTES = {"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", "SqsManagedSseEnabled"}


def _queue_does_not_exist() -> SqsError:
    return SqsError(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        query_code="AWS.SimpleQueueService.NonExistentQueue",
    )


def _integer(request: dict[str, Any], name: str, default: int, *, low: int, high: int) -> int:
    value = request.get(name, default)
    if not isinstance(value, int) or not low <= value <= high:
        raise SqsError(
            "InvalidParameterValue", f"Value {value} for parameter {name} is invalid. Must be {low}..{high}."
        )
    return value


class SqsApi:
    """The queues of one endpoint. `call(action, request)` answers one JSON request or raises SqsError."""

    def __init__(self) -> None:
        self.endpoint_url = ""  # set once the server is bound; queue URLs are made from it
        self._queues: dict[str, MemoryQueue] = {}
        self._settings: dict[str, dict[str, int]] = {}  # per queue, the attributes it was created with
        self._lock = threading.Lock()
        self._actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateQueue": self._create_queue,
            "GetQueueUrl": self._get_queue_url,
            "GetQueueAttributes": self._get_queue_attributes,
            "PurgeQueue": self._purge_queue,
            "SendMessage": self._send_message,
            "SendMessageBatch": self._send_message_batch,
            "ReceiveMessage": self._receive_message,
            "DeleteMessage": self._delete_message,
            "DeleteMessageBatch": self._delete_message_batch,
            "ChangeMessageVisibility": self._change_message_visibility,
            "ChangeMessageVisibilityBatch": self._change_message_visibility_batch,
        }

    def call(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        handler = self._actions.get(action)
        if handler is None:
            raise SqsError("UnsupportedOperation", f"{action} is not implemented by this in-memory endpoint.")
        return handler(request)

    def queue(self, url_or_name: str) -> MemoryQueue:
        """The queue a QueueUrl (any host; its last path segment is the name) or a name refers to."""
        with self._lock:
            queue = self._queues.get(url_or_name.rstrip("/").rsplit("/", 1)[-1])
        if queue is None:
            raise _queue_does_not_exist()
        return queue

    def queue_by_arn(self, arn: str) -> MemoryQueue | None:
        with self._lock:
            return next((queue for queue in self._queues.values() if queue.arn == arn), None)

    def queues(self) -> list[MemoryQueue]:
        with self._lock:
            return list(self._queues.values())

    # --- queues ---------------------------------------------------------------------------------------------

    def _create_queue(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("QueueName", "")
        if not QUEUE_NAME.match(name):
            raise SqsError(
                "InvalidParameterValue",
                f"Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length: {name!r}",
            )
        settings = self._queue_settings(request.get("Attributes", {}))
        with self._lock:
            if name in self._queues:
                if self._settings[name] != settings:
                    raise SqsError(
                        "QueueNameExists",
                        f"A queue already exists with the same name and a different value for attribute(s): {name}",
                        query_code="QueueAlreadyExists",
                    )
                return {"QueueUrl": self._queues[name].url}
            self._queues[name] = MemoryQueue(
                name=name,
                url=f"{self.endpoint_url}/{ACCOUNT_ID}/{name}",
                arn=f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
                visibility_seconds=settings["VisibilityTimeout"],
                delay_seconds=settings["DelaySeconds"],
            )
            self._settings[name] = settings
            return {"QueueUrl": self._queues[name].url}

    @staticmethod
    def _queue_settings(attributes: dict[str, str]) -> dict[str, int]:
        unknown = sorted(set(attributes) - set(QUEUE_SETTINGS))
        if unknown:
            raise SqsError("InvalidAttributeName", f"Unknown or not implemented attribute(s): {', '.join(unknown)}")
        settings = dict(QUEUE_SETTINGS)
        for name, value in attributes.items():
            if not value.isdigit():
                raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {name}: {value!r}")
            settings[name] = int(value)
        return settings

    def _get_queue_url(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"QueueUrl": self.queue(request.get("QueueName", "")).url}

    def _get_queue_attributes(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(request["QueueUrl"])
        counts = queue.counts()
        settings = self._settings[queue.name]
        attributes = {
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(counts.visible),
            "ApproximateNumberOfMessagesNotVisible": str(counts.in_flight),
            "ApproximateNumberOfMessagesDelayed": str(counts.delayed),
            "CreatedTimestamp": str(queue.created),
            "LastModifiedTimestamp": str(queue.created),
            "MaximumMessageSize": "262144",
            "MessageRetentionPeriod": "345600",
            **{name: str(value) for name, value in settings.items()},
        }
        names = request.get("AttributeNames", [])
        unknown = sorted(set(names) - set(attributes) - ABSENT_ATTRIBUTES - {"All"})
        if unknown:
            raise SqsError("InvalidAttributeName", f"Unknown Attribute {unknown[0]}.")
        return {"Attributes": attributes if "All" in names else {n: attributes[n] for n in names if n in attributes}}

    def _purge_queue(self, request: dict[str, Any]) -> dict[str, Any]:
        self.queue(request["QueueUrl"]).purge()
        return {}

    # --- messages -------------------------------------------------------------------------------------------

    def _send_message(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(request["QueueUrl"])
        (sent,) = queue.send([self._body_of(request)], delay_seconds=self._delay_of(request))
        return {"MessageId": sent.message_id, "MD5OfMessageBody": sent.md5}

    def _send_message_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(request["QueueUrl"])

        def send(entry: dict[str, Any]) -> dict[str, Any]:
            (sent,) = queue.send([self._body_of(entry)], delay_seconds=self._delay_of(entry))
            return {"Id": entry["Id"], "MessageId": sent.message_id, "MD5OfMessageBody": sent.md5}

        return self._batch(request, send)

    @staticmethod
    def _body_of(request: dict[str, Any]) -> str:
        if request.get("MessageAttributes") or request.get("MessageSystemAttributes"):
            raise SqsError("UnsupportedOperation", "Message attributes are not implemented by this in-memory endpoint.")
        body = request.get("MessageBody", "")
        if not body:
            raise SqsError("InvalidParameterValue", "The request must contain the parameter MessageBody.")
        return str(body)

    @staticmethod
    def _delay_of(request: dict[str, Any]) -> int | None:
        return _integer(request, "DelaySeconds", 0, low=0, high=900) if "DelaySeconds" in request else None

    def _receive_message(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(request["QueueUrl"])
        default_wait = self._settings[queue.name]["ReceiveMessageWaitTimeSeconds"]
        visibility = request.get("VisibilityTimeout")
        received = queue.receive(
            max_messages=_integer(request, "MaxNumberOfMessages", 1, low=1, high=10),
            wait_seconds=_integer(request, "WaitTimeSeconds", default_wait, low=0, high=20),
            visibility_seconds=None
            if visibility is None
            else _integer(request, "VisibilityTimeout", 0, low=0, high=43_200),
        )
        names = {*request.get("MessageSystemAttributeNames", []), *request.get("AttributeNames", [])}
        if not received:
            return {}
        return {"Messages": [self._message(delivery, names) for delivery in received]}

    @staticmethod
    def _message(delivery: Delivery, names: set[str]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "MessageId": delivery.message_id,
            "ReceiptHandle": delivery.receipt_handle,
            "MD5OfBody": delivery.md5,
            "Body": delivery.body,
        }
        values = {
            "ApproximateReceiveCount": str(delivery.receive_count),
            "ApproximateFirstReceiveTimestamp": str(delivery.first_receive_ms),
            "SentTimestamp": str(delivery.sent_ms),
            "SenderId": SENDER_ID,
        }
        wanted = MESSAGE_ATTRIBUTES if "All" in names else [name for name in MESSAGE_ATTRIBUTES if name in names]
        if wanted:
            message["Attributes"] = {name: values[name] for name in wanted}
        return message

    def _delete_message(self, request: dict[str, Any]) -> dict[str, Any]:
        self.queue(request["QueueUrl"]).delete(request.get("ReceiptHandle", ""))
        return {}

    def _delete_message_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(request["QueueUrl"])

        def delete(entry: dict[str, Any]) -> dict[str, Any]:
            queue.delete(entry.get("ReceiptHandle", ""))
            return {"Id": entry["Id"]}

        return self._batch(request, delete)

    def _change_message_visibility(self, request: dict[str, Any]) -> dict[str, Any]:
        seconds = _integer(request, "VisibilityTimeout", -1, low=0, high=43_200)
        self.queue(request["QueueUrl"]).change_visibility(request.get("ReceiptHandle", ""), seconds)
        return {}

    def _change_message_visibility_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(request["QueueUrl"])

        def change(entry: dict[str, Any]) -> dict[str, Any]:
            seconds = _integer(entry, "VisibilityTimeout", -1, low=0, high=43_200)
            queue.change_visibility(entry.get("ReceiptHandle", ""), seconds)
            return {"Id": entry["Id"]}

        return self._batch(request, change)

    @staticmethod
    def _batch(request: dict[str, Any], each: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Every entry on its own: what fails goes to `Failed` with SQS's code, the rest succeeds."""
        entries = request.get("Entries", [])
        ids = [entry.get("Id") for entry in entries]
        if not entries:
            raise SqsError(
                "EmptyBatchRequest",
                "There should be at least one entry in the request.",
                query_code="AWS.SimpleQueueService.EmptyBatchRequest",
            )
        if len(entries) > 10:
            raise SqsError(
                "TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
                query_code="AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            )
        if len(set(ids)) != len(ids):
            raise SqsError(
                "BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id.",
                query_code="AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            )
        successful, failed = [], []
        for entry in entries:
            try:
                successful.append(each(entry))
            except SqsError as exc:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": exc.query_code, "Message": exc.message})
        return {"Successful": successful, "Failed": failed}
