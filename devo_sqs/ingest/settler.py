"""Carries out settlements on SQS (see settlement.py for the decisions): deletes, and visibility changes that release
messages, up to ten messages per call, from two threads (at a region's latency one thread's calls would cap
deletes near 250 messages a second). Each failed message gets one log line saying what happened and what comes
next, with its traceback when the failure was unexpected."""

from __future__ import annotations

import logging
import queue
import threading
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
FILL_SECONDS = 0.05
TAKING_SECONDS = 1.0  # longer than a gathering thread holds its turn: 0.2 s for the first, FILL_SECONDS more
Report = Callable[[str, dict[str, Any]], None]


class Settler(Worker):
    def __init__(
        self,
        spec: SqsInput,
        setup: AwsSetup,
        counters: InputCounters,
        *,
        report: Report,
        more_coming: Callable[[], bool] = lambda: True,
        name: str,
    ) -> None:
        super().__init__(name)
        self.spec = spec
        self.setup = setup
        self.counters = counters
        self._report = report  # an internal event: (level, fields)
        self._more_coming = more_coming  # other messages are in hand: waiting to fill a call is worth it
        self._actions: queue.Queue[tuple[InFlight, Action]] = queue.Queue()
        self._taking = threading.Lock()

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
            self.run_once(timeout=0.2)

    def caller(self, *, name: str) -> Worker:
        """One more thread carrying out the queued calls."""
        return SettlementCaller(self, name=name)

    def flush(self, *, timeout: float) -> None:
        """Carry out everything queued (at a stop), within `timeout`."""
        deadline = time.monotonic() + timeout
        while not self._actions.empty() and time.monotonic() < deadline:
            self.run_once(timeout=0.0)
        if not self._actions.empty():
            log.warning(
                "%d settlement(s) not carried out; those messages come back after their visibility timeout",
                self._actions.qsize(),
            )

    def run_once(self, *, timeout: float) -> None:
        """Carry out up to one call's worth of what is queued, waiting up to `timeout` for the first."""
        if not self._taking.acquire(timeout=TAKING_SECONDS):  # one thread gathers while the other makes its call
            return
        try:
            taken = self._take(timeout)
        finally:
            self._taking.release()
        if not taken:
            return
        deletes = [m for m, action in taken if action.act in (Act.DELETE, Act.DROP)]
        releases = [(m, action.delay_seconds) for m, action in taken if action.act is Act.RELEASE]
        for start in range(0, len(deletes), SQS_BATCH_LIMIT):
            self._delete_batch(deletes[start : start + SQS_BATCH_LIMIT])
        for start in range(0, len(releases), SQS_BATCH_LIMIT):
            self._release_batch(releases[start : start + SQS_BATCH_LIMIT])

    def _take(self, timeout: float) -> list[tuple[InFlight, Action]]:
        """The first queued settlement, and those queued within FILL_SECONDS after it, up to one call's worth: full
        calls cost less CPU per message, and a delete a few milliseconds later costs nothing. The thread sleeps
        through the fill time rather than waking for each settlement, and does not wait when no other message is
        in hand (the last one of a burst is deleted at once)."""
        try:
            taken = [self._actions.get(timeout=timeout) if timeout else self._actions.get_nowait()]
        except queue.Empty:
            return []
        if timeout and self._actions.qsize() < SQS_BATCH_LIMIT - 1 and self._more_coming():
            self.sleep(FILL_SECONDS)
        while len(taken) < SQS_BATCH_LIMIT:
            try:
                taken.append(self._actions.get_nowait())
            except queue.Empty:
                break
        return taken

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


class SettlementCaller(Worker):
    def __init__(self, settler: Settler, *, name: str) -> None:
        super().__init__(name)
        self._settler = settler

    def work(self) -> None:
        while not self.stopping:
            self._settler.run_once(timeout=0.2)


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
