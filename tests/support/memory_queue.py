"""One SQS standard queue in memory, as the benchmark's endpoint needs it: visibility timeouts, redelivery with a
fresh receipt handle and a growing receive count, and long polls that wake as soon as a message is sent or
becomes visible again. memory_aws.py serves it over SQS's JSON protocol.

What SQS does and this queue does too: deleting with the handle of an earlier receive succeeds but leaves the
message (only the latest handle deletes); deleting an already deleted message succeeds; a handle never issued is
`ReceiptHandleIsInvalid`. Not modelled: redrive to a dead-letter queue, retention, message attributes, FIFO.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass


class SqsError(Exception):
    """An error SQS would answer: `code` is its shape name (the JSON `__type`), `query_code` the older code that
    SQS also sends (header `x-amzn-query-error`) and that boto3 shows as `Error.Code`."""

    def __init__(self, code: str, message: str, *, query_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.query_code = query_code or code
        self.message = message


def invalid_handle(handle: str) -> SqsError:
    return SqsError("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.')


def md5_of(body: str) -> str:
    """What SQS reports as MD5OfBody / MD5OfMessageBody, and boto3 checks."""
    return hashlib.md5(body.encode()).hexdigest()


@dataclass
class _Message:
    message_id: str
    body: str
    sent_ms: int
    visible_at: float  # time.monotonic(); in the future while delayed or in flight
    receive_count: int = 0
    first_receive_ms: int = 0
    receipt_handle: str = ""  # the latest; earlier handles of this message are stale


@dataclass(frozen=True)
class Delivery:
    """One message as one receive returned it."""

    message_id: str
    receipt_handle: str
    body: str
    md5: str
    sent_ms: int
    receive_count: int
    first_receive_ms: int


@dataclass(frozen=True)
class QueueCounts:
    visible: int
    in_flight: int  # received, not deleted, visibility timeout running
    delayed: int  # sent with a delay that has not passed yet
    waiting: int  # receives blocked in a long poll right now
    sent: int
    received: int  # deliveries, redeliveries included
    deleted: int


class MemoryQueue:
    """Thread-safe. Visible messages wait in a deque (oldest first); hidden ones in a heap by the time they
    become visible; a long poll sleeps until a send, a visibility change or the next of those times."""

    def __init__(self, *, name: str, url: str, arn: str, visibility_seconds: int, delay_seconds: int) -> None:
        self.name, self.url, self.arn = name, url, arn
        self.visibility_seconds = visibility_seconds  # for receives that do not name one
        self.delay_seconds = delay_seconds  # for sends that do not name one
        self.created = int(time.time())
        self._messages: dict[str, _Message] = {}
        self._visible: deque[str] = deque()
        self._hidden: list[tuple[float, int, str]] = []  # (visible_at, tie-breaker, message id); stale entries skipped
        self._order = itertools.count()
        self._handles: dict[str, str] = {}  # every receipt handle issued -> message id
        self._changed = threading.Condition()
        self._closed = False
        self._waiting = self._sent = self._received = self._deleted = 0

    def send(self, bodies: list[str], *, delay_seconds: int | None = None) -> list[Delivery]:
        """Enqueue `bodies` at one instant (waking every long poll once); returns their ids and MD5s."""
        delay = self.delay_seconds if delay_seconds is None else delay_seconds
        now, sent_ms = time.monotonic(), int(time.time() * 1000)
        with self._changed:
            messages = [_Message(str(uuid.uuid4()), body, sent_ms, now + delay) for body in bodies]
            for message in messages:
                self._messages[message.message_id] = message
                if delay:
                    self._hide(message)
                else:
                    self._show(message)
            self._sent += len(messages)
            self._changed.notify_all()
        return [Delivery(m.message_id, "", m.body, md5_of(m.body), sent_ms, 0, 0) for m in messages]

    def receive(self, *, max_messages: int, wait_seconds: float, visibility_seconds: int | None) -> list[Delivery]:
        """Up to `max_messages` visible messages, hidden for `visibility_seconds`; waits up to `wait_seconds` for
        the first one and returns as soon as there is any (as SQS does)."""
        visibility = self.visibility_seconds if visibility_seconds is None else visibility_seconds
        deadline = time.monotonic() + wait_seconds
        with self._changed:
            self._waiting += 1
            try:
                while True:
                    taken = self._take(max_messages, visibility)
                    now = time.monotonic()
                    if taken or now >= deadline or self._closed:
                        return taken
                    self._changed.wait(min(deadline, self._next_visible_at()) - now)
            finally:
                self._waiting -= 1

    def delete(self, receipt_handle: str) -> None:
        with self._changed:
            message = self._message_of(receipt_handle)
            if message is not None and message.receipt_handle == receipt_handle:
                del self._messages[message.message_id]
                self._deleted += 1

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        """Hide the message for `seconds` from now (0: visible at once). Only the latest handle of a message in
        flight may do that."""
        with self._changed:
            message = self._message_of(receipt_handle)
            if message is None or message.receipt_handle != receipt_handle:
                raise SqsError(
                    "InvalidParameterValue",
                    f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist "
                    "or is not available for visibility timeout change.",
                )
            now = time.monotonic()
            if message.visible_at <= now:
                raise SqsError(
                    "MessageNotInflight",
                    "The message referred to isn't in flight.",
                    query_code="AWS.SimpleQueueService.MessageNotInflight",
                )
            message.visible_at = now + seconds
            self._hide(message)
            self._changed.notify_all()

    def counts(self) -> QueueCounts:
        now = time.monotonic()
        with self._changed:
            hidden = [m for m in self._messages.values() if m.visible_at > now]
            in_flight = sum(1 for m in hidden if m.receive_count)
            return QueueCounts(
                visible=len(self._messages) - len(hidden),
                in_flight=in_flight,
                delayed=len(hidden) - in_flight,
                waiting=self._waiting,
                sent=self._sent,
                received=self._received,
                deleted=self._deleted,
            )

    def purge(self) -> None:
        with self._changed:
            self._messages.clear()
            self._visible.clear()
            self._hidden.clear()

    def close(self) -> None:
        """Return every long poll now (empty), and later receives at once: for a consumer or a server that stops."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _message_of(self, receipt_handle: str) -> _Message | None:
        """The message a handle was issued for, None when it is deleted; a handle never issued is an error."""
        message_id = self._handles.get(receipt_handle)
        if message_id is None:
            raise invalid_handle(receipt_handle)
        return self._messages.get(message_id)

    def _take(self, limit: int, visibility: int) -> list[Delivery]:
        now = time.monotonic()
        while self._hidden and self._hidden[0][0] <= now:
            visible_at, _, message_id = heapq.heappop(self._hidden)
            message = self._messages.get(message_id)
            if message is not None and message.visible_at == visible_at:
                self._show(message)
        taken: list[Delivery] = []
        while self._visible and len(taken) < limit:
            message = self._messages.get(self._visible.popleft())
            if message is not None and message.visible_at <= now:
                taken.append(self._deliver(message, now, visibility))
        return taken

    def _deliver(self, message: _Message, now: float, visibility: int) -> Delivery:
        message.receive_count += 1
        message.first_receive_ms = message.first_receive_ms or int(time.time() * 1000)
        message.receipt_handle = f"{message.message_id}#{message.receive_count}#{uuid.uuid4().hex}"
        self._handles[message.receipt_handle] = message.message_id
        message.visible_at = now + visibility
        self._hide(message)
        self._received += 1
        return Delivery(
            message.message_id,
            message.receipt_handle,
            message.body,
            md5_of(message.body),
            message.sent_ms,
            message.receive_count,
            message.first_receive_ms,
        )

    def _show(self, message: _Message) -> None:
        self._visible.append(message.message_id)

    def _hide(self, message: _Message) -> None:
        heapq.heappush(self._hidden, (message.visible_at, next(self._order), message.message_id))

    def _next_visible_at(self) -> float:
        return self._hidden[0][0] if self._hidden else float("inf")
