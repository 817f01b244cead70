"""What happens to an SQS message, decided in one place for every outcome.

At least once, duplicates over loss. A message is deleted only when every batch that came from it was delivered
or spooled, or when it failed permanently, the queue has no dead-letter queue and it was received
`max_receive_count` times (then with an error event). Anything else makes it visible again: at once when the
collector stops before finishing it, after a capped backoff when it failed. Retryable failures never delete.

| outcome                                            | message                                                 |
|----------------------------------------------------|---------------------------------------------------------|
| delivered: every batch confirmed or spooled        | deleted (left alone with `ack_messages: false`)         |
| retryable failure, deadline passed, a child died   | released with backoff                                   |
| permanent failure, the queue has a DLQ             | released with backoff until SQS moves it to the DLQ    |
| permanent failure, no DLQ                          | released with backoff; dropped at `max_receive_count`   |
| received but never started, or interrupted, a stop | released at once (visibility 0)                         |
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from devo_sqs.errors import AccessError, NotificationError, ObjectError, PermanentObjectError, RetryableError

RETRY_FIRST_SECONDS = 5
SQS_MAX_VISIBILITY_SECONDS = 43_200


class Outcome(enum.Enum):
    DELIVERED = "delivered"  # every batch confirmed or spooled (`do_not_send`: treated the same)
    RETRYABLE = "retryable"  # may succeed later
    PERMANENT = "permanent"  # cannot succeed however often it is tried
    STOPPED = "stopped"  # received but never started, or interrupted, at a stop


class Act(enum.Enum):
    DELETE = "delete"  # delivered: done with it
    KEEP = "keep"  # delivered with `ack_messages: false`: left for a later receive
    RELEASE = "release"  # visible again after `delay_seconds`
    DROP = "drop"  # poison without a dead-letter queue: deleted, with an error event


@dataclass(frozen=True)
class Action:
    act: Act
    delay_seconds: int = 0


@dataclass(frozen=True)
class QueuePolicy:
    """What settling depends on besides the outcome."""

    ack_messages: bool
    has_dlq: bool
    max_receive_count: int
    visibility_timeout: int


def decide(outcome: Outcome, *, receive_count: int, policy: QueuePolicy) -> Action:
    if outcome is Outcome.DELIVERED:
        return Action(Act.DELETE if policy.ack_messages else Act.KEEP)
    if outcome is Outcome.STOPPED:
        return Action(Act.RELEASE, 0)
    poison = outcome is Outcome.PERMANENT and not policy.has_dlq and receive_count >= policy.max_receive_count
    if poison and policy.ack_messages:
        return Action(Act.DROP)
    return Action(Act.RELEASE, backoff_seconds(receive_count, policy.visibility_timeout))


def backoff_seconds(receive_count: int, visibility_timeout: int) -> int:
    """5 s, 10 s, 20 s ... by receive count, capped at the visibility timeout."""
    exponent = min(max(receive_count, 1) - 1, 16)
    delay: int = RETRY_FIRST_SECONDS << exponent
    return min(delay, visibility_timeout, SQS_MAX_VISIBILITY_SECONDS)


def classify(exc: BaseException, *, has_dlq: bool) -> Outcome:
    """Access errors are retryable without a DLQ: operators fix IAM and key policies, and a message that would be
    deleted after `max_receive_count` receives would be lost. Anything unexpected is permanent: a message that
    trips a bug must reach the DLQ or `max_receive_count`, not loop forever."""
    if isinstance(exc, AccessError):
        return Outcome.PERMANENT if has_dlq else Outcome.RETRYABLE
    if isinstance(exc, NotificationError | PermanentObjectError | ParamValidationError):
        return Outcome.PERMANENT
    if isinstance(exc, RetryableError | ObjectError | BotoCoreError | ClientError | ConnectionError | TimeoutError):
        return Outcome.RETRYABLE
    return Outcome.PERMANENT


def expected(exc: BaseException) -> bool:
    """Failures the collector anticipates: logged in one line; anything else with its traceback."""
    return isinstance(exc, NotificationError | ObjectError | RetryableError | BotoCoreError | ClientError)
