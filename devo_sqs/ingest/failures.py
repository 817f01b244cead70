"""What happens to a message that could not be collected. Every failure backs off (the message comes back
exponentially later); a permanent one (not a notification, NoSuchKey, AccessDenied, undecodable) is left to
the queue's dead-letter policy or, without one, deleted once received `max_receive_count` times, with an
error event on the internal output. Nothing here ever deletes a message that may still succeed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.config.models import SqsInput
from devo_sqs.errors import NotificationError, ObjectError, PermanentObjectError
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 5


class FailurePolicy:
    def __init__(
        self,
        spec: SqsInput,
        setup: AwsSetup,
        *,
        discard: Callable[[InFlight], None],
        report: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.spec = spec
        self.setup = setup
        self._discard = discard  # delete the message now
        self._report = report  # an internal event: (level, fields)

    def settle(self, inflight: InFlight, exc: Exception) -> None:
        where = f"Message {inflight.message_id} (receive count {inflight.receive_count})"
        delay = min(self.spec.sqs_visibility_timeout, RETRY_FIRST_SECONDS * 2 ** (inflight.receive_count - 1))
        if not isinstance(exc, NotificationError | PermanentObjectError):
            log.warning("%s failed, retrying in %d s: %s", where, delay, exc)
        elif self.setup.has_redrive_policy:
            log.error("%s failed permanently: %s; left to the dead-letter policy, back in %d s", where, exc, delay)
        elif inflight.receive_count >= self.spec.max_receive_count:
            log.error("%s failed permanently: %s; deleted", where, exc)
            self._report("error", {"event": "message_dropped", "message_id": inflight.message_id, **_fields(exc)})
            self._discard(inflight)
            return
        else:
            log.error(
                "%s failed permanently: %s; back in %d s, deleted once received %d times (no dead-letter queue)",
                where,
                exc,
                delay,
                self.spec.max_receive_count,
            )
        self.release(inflight, delay)

    def release(self, inflight: InFlight, seconds: int) -> None:
        """Make the message visible again in `seconds` (0: at once, for another collector to take)."""
        try:
            self.setup.sqs.change_message_visibility(
                QueueUrl=self.spec.base_url, ReceiptHandle=inflight.receipt_handle, VisibilityTimeout=seconds
            )
        except (BotoCoreError, ClientError) as exc:
            log.warning("Could not reschedule message %s: %s", inflight.message_id, exc)


def _fields(exc: Exception) -> dict[str, Any]:
    """What an internal event says about a failure."""
    if isinstance(exc, ObjectError):
        return {"bucket": exc.bucket, "key": exc.key, "reason": exc.reason}
    return {"reason": str(exc)}
