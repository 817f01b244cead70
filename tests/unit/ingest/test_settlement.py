"""Every outcome of a message, and what happens to it: the settlement table of the README, row by row."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from devo_sqs.errors import (
    AccessError,
    NotificationError,
    PermanentObjectError,
    RetryableError,
    RetryableObjectError,
)
from devo_sqs.ingest.handover import OutputGone
from devo_sqs.ingest.settlement import Act, Action, Outcome, QueuePolicy, backoff_seconds, classify, decide
from devo_sqs.ingest.tracker import BatchFailed, BatchOverdue

WITH_DLQ = QueuePolicy(ack_messages=True, has_dlq=True, max_receive_count=5, visibility_timeout=240)
NO_DLQ = QueuePolicy(ack_messages=True, has_dlq=False, max_receive_count=5, visibility_timeout=240)
KEEPING = QueuePolicy(ack_messages=False, has_dlq=False, max_receive_count=5, visibility_timeout=240)


@pytest.mark.parametrize(
    ("outcome", "receive_count", "policy", "action"),
    [
        # every batch confirmed or spooled: deleted; kept for a later receive with ack_messages false
        (Outcome.DELIVERED, 1, NO_DLQ, Action(Act.DELETE)),
        (Outcome.DELIVERED, 9, WITH_DLQ, Action(Act.DELETE)),
        (Outcome.DELIVERED, 1, KEEPING, Action(Act.KEEP)),
        # retryable failure, deadline passed, a child died: released with backoff, never deleted
        (Outcome.RETRYABLE, 1, NO_DLQ, Action(Act.RELEASE, 5)),
        (Outcome.RETRYABLE, 3, NO_DLQ, Action(Act.RELEASE, 20)),
        (Outcome.RETRYABLE, 50, NO_DLQ, Action(Act.RELEASE, 240)),
        (Outcome.RETRYABLE, 50, WITH_DLQ, Action(Act.RELEASE, 240)),
        # permanent failure with a DLQ: released with backoff until SQS moves it
        (Outcome.PERMANENT, 1, WITH_DLQ, Action(Act.RELEASE, 5)),
        (Outcome.PERMANENT, 5, WITH_DLQ, Action(Act.RELEASE, 80)),
        (Outcome.PERMANENT, 99, WITH_DLQ, Action(Act.RELEASE, 240)),
        # permanent failure without a DLQ: dropped (with an error event) once received max_receive_count times
        (Outcome.PERMANENT, 4, NO_DLQ, Action(Act.RELEASE, 40)),
        (Outcome.PERMANENT, 5, NO_DLQ, Action(Act.DROP)),
        (Outcome.PERMANENT, 6, NO_DLQ, Action(Act.DROP)),
        (Outcome.PERMANENT, 6, KEEPING, Action(Act.RELEASE, 160)),  # ack_messages false never deletes
        # received but never started, or interrupted, at a stop: released at once
        (Outcome.STOPPED, 1, NO_DLQ, Action(Act.RELEASE, 0)),
        (Outcome.STOPPED, 7, WITH_DLQ, Action(Act.RELEASE, 0)),
    ],
)
def test_what_happens_to_a_message_for_each_outcome(
    outcome: Outcome, receive_count: int, policy: QueuePolicy, action: Action
) -> None:
    assert decide(outcome, receive_count=receive_count, policy=policy) == action


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "GetObject")


@pytest.mark.parametrize(
    ("exc", "with_dlq", "without_dlq"),
    [
        (NotificationError("S3 event object: 'key' is a number"), Outcome.PERMANENT, Outcome.PERMANENT),
        (PermanentObjectError("NoSuchKey"), Outcome.PERMANENT, Outcome.PERMANENT),
        (ParamValidationError(report="Invalid bucket name"), Outcome.PERMANENT, Outcome.PERMANENT),
        (AccessError("AccessDenied"), Outcome.PERMANENT, Outcome.RETRYABLE),
        (AccessError("KMS.DisabledException"), Outcome.PERMANENT, Outcome.RETRYABLE),
        (RetryableObjectError("SlowDown"), Outcome.RETRYABLE, Outcome.RETRYABLE),
        (client_error("ThrottlingException"), Outcome.RETRYABLE, Outcome.RETRYABLE),
        (EndpointConnectionError(endpoint_url="https://sqs"), Outcome.RETRYABLE, Outcome.RETRYABLE),
        (BatchFailed("batch 7 could not be delivered"), Outcome.RETRYABLE, Outcome.RETRYABLE),
        (BatchOverdue("batch 7 not settled within 480 s"), Outcome.RETRYABLE, Outcome.RETRYABLE),
        (OutputGone("the output process is gone"), Outcome.RETRYABLE, Outcome.RETRYABLE),
        (RetryableError("anything of delivery"), Outcome.RETRYABLE, Outcome.RETRYABLE),
        (TypeError("unhashable type: 'list'"), Outcome.PERMANENT, Outcome.PERMANENT),
        (RecursionError("maximum recursion depth exceeded"), Outcome.PERMANENT, Outcome.PERMANENT),
    ],
)
def test_failures_are_classified_as_permanent_or_retryable(
    exc: Exception, with_dlq: Outcome, without_dlq: Outcome
) -> None:
    assert (classify(exc, has_dlq=True), classify(exc, has_dlq=False)) == (with_dlq, without_dlq)


def test_backoff_doubles_from_five_seconds_up_to_the_visibility_timeout() -> None:
    assert [backoff_seconds(n, 100) for n in range(1, 8)] == [5, 10, 20, 40, 80, 100, 100]
    assert backoff_seconds(0, 100) == 5
    assert backoff_seconds(10_000, 50_000) == 43_200  # SQS's maximum visibility timeout
