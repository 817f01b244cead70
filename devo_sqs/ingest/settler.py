"""Carries out settlements on SQS (see settlement.py for the decisions): deletes, and visibility changes that release
messages, up to ten messages per call. Each failed message gets one log line saying what happened and what comes
next, with its traceback when the failure was unexpected."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.config.models import SqsInput
from devo_sqs.errors import AccessError, ObjectError
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.ingest.settlement import Act, Action, Outcome, QueuePolicy, decide, expected
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight
from devo_sqs.lifecycle import Worker

log = logging.getLogger(__name__)

SQS_BATCH_LIMIT = 10
Report = Callable[[str, dict[str, Any]], None]


class Settler(Worker):
    def __init__(self, spec: SqsInput, setup: AwsSetup, counters: InputCounters, *, report: Report, name: str) -> None:
        super().__init__(name)
        self.spec = spec
        self.setup = setup
        self.counters = counters
        self._report = report  # an internal event: (level, fields)
        self._actions: queue.Queue[tuple[InFlight, Action]] = queue.Queue()

    def settle(self, inflight: InFlight, outcome: Outcome, exc: BaseException | None) -> None:
        """Decide what happens to the message, say so, and queue the SQS call. Safe from any thread."""
        policy = QueuePolicy(
            ack_messages=self.spec.ack_messages,
            has_dlq=self.setup.has_redrive_policy,
            max_receive_count=self.spec.max_receive_count,
            visibility_timeout=self.spec.sqs_visibility_timeout,
        )
        action = decide(outcome, receive_count=inflight.receive_count, policy=policy)
        self._account(inflight, outcome, exc, action)
        if action.act is not Act.KEEP:
            self._actions.put((inflight, action))

    def work(self) -> None:
        while not self.stopping:
            self._run_once(timeout=0.2)

    def flush(self, *, timeout: float) -> None:
        """Carry out everything queued (at a stop), within `timeout`."""
        deadline = time.monotonic() + timeout
        while not self._actions.empty() and time.monotonic() < deadline:
            self._run_once(timeout=0.0)
        if not self._actions.empty():
            log.warning(
                "%d settlement(s) not carried out; those messages come back after their visibility timeout",
                self._actions.qsize(),
            )

    def _run_once(self, *, timeout: float) -> None:
        try:
            first = self._actions.get(timeout=timeout) if timeout else self._actions.get_nowait()
        except queue.Empty:
            return
        taken = [first]
        while len(taken) < 2 * SQS_BATCH_LIMIT:
            try:
                taken.append(self._actions.get_nowait())
            except queue.Empty:
                break
        deletes = [m for m, action in taken if action.act in (Act.DELETE, Act.DROP)]
        releases = [(m, action.delay_seconds) for m, action in taken if action.act is Act.RELEASE]
        for start in range(0, len(deletes), SQS_BATCH_LIMIT):
            self._delete_batch(deletes[start : start + SQS_BATCH_LIMIT])
        for start in range(0, len(releases), SQS_BATCH_LIMIT):
            self._release_batch(releases[start : start + SQS_BATCH_LIMIT])

    # -- SQS calls -------------------------------------------------------------------------------------------

    def _delete_batch(self, messages: list[InFlight]) -> None:
        entries = [{"Id": str(index), "ReceiptHandle": m.receipt_handle} for index, m in enumerate(messages)]
        failed = self._call(lambda: self.setup.sqs.delete_message_batch(QueueUrl=self.spec.base_url, Entries=entries))
        for index, inflight in enumerate(messages):
            if index in failed:
                log.warning("Could not delete message %s: %s", inflight.message_id, failed[index])
            else:
                log.debug("Acked message receiptHandle: %s", inflight.receipt_handle)
        self.counters.add(messages_deleted=len(messages) - len(failed))

    def _release_batch(self, messages: list[tuple[InFlight, int]]) -> None:
        entries = [
            {"Id": str(index), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": delay}
            for index, (m, delay) in enumerate(messages)
        ]
        failed = self._call(
            lambda: self.setup.sqs.change_message_visibility_batch(QueueUrl=self.spec.base_url, Entries=entries)
        )
        for index, (inflight, _) in enumerate(messages):
            if index in failed:
                log.warning("Could not release message %s: %s", inflight.message_id, failed[index])
        self.counters.add(messages_released=len(messages) - len(failed))

    def _call(self, call: Callable[[], dict[str, Any]]) -> dict[int, str]:
        """Run a batch call; the entries that failed, by index, with why (all of them when the call failed)."""
        try:
            response = call()
        except (BotoCoreError, ClientError) as exc:
            log.error(
                "A settlement call to SQS failed: %s; those messages come back after their visibility timeout", exc
            )
            return {index: str(exc) for index in range(SQS_BATCH_LIMIT)}
        return {int(item["Id"]): item.get("Message", item.get("Code", "")) for item in response.get("Failed", [])}

    # -- saying what happened --------------------------------------------------------------------------------

    def _account(self, inflight: InFlight, outcome: Outcome, exc: BaseException | None, action: Action) -> None:
        if outcome is Outcome.DELIVERED:
            return
        where = f"Message {inflight.message_id} (receive count {inflight.receive_count}{_source(inflight, exc)})"
        if outcome is Outcome.STOPPED:
            log.info("%s handed back to the queue: stopping", where)
            return
        self.counters.add(messages_failed=1, messages_failed_permanently=int(outcome is Outcome.PERMANENT))
        trace = exc is not None and not expected(exc)
        level, line = _failure_line(outcome, action, exc, self.spec, has_dlq=self.setup.has_redrive_policy)
        log.log(level, "%s %s", where, line, exc_info=exc if trace else None)
        if isinstance(exc, AccessError):
            self.counters.add(access_errors=1)
            self._report("error", {"event": "access_denied", "message_id": inflight.message_id, **_fields(exc)})
        if action.act is Act.DROP:
            self.counters.add(messages_dropped=1)
            self._report("error", {"event": "message_dropped", "message_id": inflight.message_id, **_fields(exc)})


def _failure_line(
    outcome: Outcome, action: Action, exc: BaseException | None, spec: SqsInput, *, has_dlq: bool
) -> tuple[int, str]:
    """The level and the words after the message's name: what failed, and what happens to the message now."""
    why = str(exc) if exc is None or expected(exc) else f"{type(exc).__name__}: {exc}"
    if action.act is Act.DROP:
        return logging.ERROR, f"failed permanently: {why}; received {spec.max_receive_count} times: deleted"
    back = f"back in {action.delay_seconds} s"
    if outcome is Outcome.RETRYABLE:
        return logging.WARNING, f"failed, retrying in {action.delay_seconds} s: {why}"
    if has_dlq:
        return logging.ERROR, f"failed permanently: {why}; left to the dead-letter policy, {back}"
    deleted = f"deleted once received {spec.max_receive_count} times (no dead-letter queue)"
    return logging.ERROR, f"failed permanently: {why}; {back}, {deleted}"


def _source(inflight: InFlight, exc: BaseException | None) -> str:
    if isinstance(exc, ObjectError) and exc.bucket:
        return f", s3://{exc.bucket}/{exc.key}"
    return f", {inflight.source}" if inflight.source else ""


def _fields(exc: BaseException | None) -> dict[str, Any]:
    """What an internal event says about a failure."""
    if isinstance(exc, ObjectError):
        return {"bucket": exc.bucket, "key": exc.key, "reason": exc.reason}
    return {"reason": str(exc)}
