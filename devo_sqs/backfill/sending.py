"""SendMessageBatch, ten notifications a call, at a steady rate (`--rate`, objects per second) so a backfill does
not starve live data of the collectors' time. Entries SQS could not take are sent again; a batch is done only when
SQS accepted all of it, which is what the checkpoint records."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.errors import BackfillError

log = logging.getLogger(__name__)

BATCH_SIZE = 10  # SendMessageBatch's limit
ENTRY_ATTEMPTS = 5  # tries for an entry SQS failed (beyond botocore's retries of the call itself)


class RateLimiter:
    """Spaces batches so that on average at most `rate` objects a second go out; None: no limit."""

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._clock = clock
        self._next = clock()

    def delay(self, objects: int) -> float:
        """Seconds to wait before sending `objects`; the time is booked for them."""
        if self._rate is None:
            return 0.0
        now = self._clock()
        start = max(self._next, now)
        self._next = start + objects / self._rate
        return start - now


class BatchSender:
    def __init__(self, sqs: Any, queue_url: str, *, stop: threading.Event) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._stop = stop

    def send(self, bodies: Sequence[bytes]) -> None:
        """Return once SQS has accepted every body; raise BackfillError when it will not."""
        pending = {str(index): body for index, body in enumerate(bodies)}
        for attempt in range(1, ENTRY_ATTEMPTS + 1):
            failed = self._send_once(pending)
            if not failed:
                return
            permanent = [entry for entry in failed if entry.get("SenderFault")]
            if permanent or attempt == ENTRY_ATTEMPTS:
                reasons = "; ".join(f"{entry.get('Code')}: {entry.get('Message', '')}" for entry in failed)
                raise BackfillError(
                    f"SendMessageBatch to {self._queue_url} refused {len(failed)} message(s): {reasons}"
                )
            log.warning("SQS did not take %d of %d message(s); sending them again", len(failed), len(pending))
            pending = {entry["Id"]: pending[entry["Id"]] for entry in failed}
            self._stop.wait(0.2 * 2**attempt)

    def _send_once(self, pending: dict[str, bytes]) -> list[dict[str, Any]]:
        entries = [{"Id": entry_id, "MessageBody": body.decode()} for entry_id, body in pending.items()]
        try:
            response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            raise BackfillError(f"SendMessageBatch to {self._queue_url} failed: {exc}") from exc
        failed: list[dict[str, Any]] = response.get("Failed", [])
        return failed
