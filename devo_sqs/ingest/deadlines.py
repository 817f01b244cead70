"""The batch deadline: a batch handed to the output process and not settled within `batch_deadline_seconds` fails,
and its message is released for a retry. No acknowledgement is waited for forever, whatever the output side does."""

from __future__ import annotations

from devo_sqs.ingest.tracker import MessageTracker
from devo_sqs.lifecycle import Worker

CHECK_SECONDS = 1.0


class DeadlineKeeper(Worker):
    def __init__(self, tracker: MessageTracker, *, deadline_seconds: float, name: str) -> None:
        super().__init__(name)
        self.tracker = tracker
        self.deadline_seconds = deadline_seconds

    def work(self) -> None:
        while not self.sleep(CHECK_SECONDS):
            self.tracker.fail_overdue(self.deadline_seconds)
