"""Each message has a failure boundary: whatever goes wrong while a puller handles it settles that message, once,
with the right outcome and one log line naming it, and the puller goes on with the next message. The puller runs
for real here (router, pipeline, batching, tracker, hand-over); only S3 is a small in-memory double."""

from __future__ import annotations

import gzip
import io
import json
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devo_sqs.config.loader import parse_config
from devo_sqs.ingest.budget import ByteBudget
from devo_sqs.ingest.counters import InputCounters
from devo_sqs.ingest.handover import Handover, OutputLink
from devo_sqs.ingest.puller import Puller, PullerDeps
from devo_sqs.ingest.settlement import Outcome
from devo_sqs.ingest.settler import Settler
from devo_sqs.ingest.setup import AwsSetup
from devo_sqs.ingest.tracker import InFlight, MessageTracker
from devo_sqs.messages import Ack, Verdict, decode_batch
from devo_sqs.persistence.state import DeliveryState
from devo_sqs.processing.services import ServiceRouter

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/logs"


class MemoryS3:
    """get_object over a dict of bodies; a value that is an exception is raised instead."""

    def __init__(self, objects: dict[str, bytes | Exception]) -> None:
        self.objects = objects

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        body = self.objects[Key]
        if isinstance(body, Exception):
            raise body
        return {"Body": io.BytesIO(body)}


def denied(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "GetObject")


class Rig:
    def __init__(
        self,
        tmp_path: Path,
        objects: dict[str, bytes | Exception],
        *,
        has_dlq: bool = False,
        wrap: int = 20_000,
        settle: Callable[[InFlight, Outcome, BaseException | None], None] | None = None,
    ) -> None:
        config = parse_config(
            {
                "globals": {"queue_wrap_max_size_in_messages": wrap},
                "inputs": {
                    "sqs_collector": {
                        "id": "1",
                        "base_url": QUEUE,
                        "services": {
                            "app": {
                                "file_format": {"type": "line_split_processor", "config": {"json": True}},
                                "record_field_mapping": {"kind": {"keys": ["kind"]}},
                                "routing_template": "my.app.[record-kind]",
                            }
                        },
                    }
                },
            }
        )
        spec = self.spec = config.inputs.sqs_collector
        self.settled: list[tuple[str, Outcome, str]] = []
        setup = self.setup = AwsSetup(spec, name="setup")
        setup.s3, setup.has_redrive_policy = MemoryS3(objects), has_dlq
        setup.ready.set()
        budget = ByteBudget(1 << 30)
        self.tracker = MessageTracker(settle=settle or self._settle, budget=budget)
        self.handover = Handover(tracker=self.tracker, budget=budget, link=OutputLink(self.tracker), deadline_seconds=5)
        self.puller = Puller(
            PullerDeps(
                spec=spec,
                globals=config.globals,
                setup=setup,
                router=ServiceRouter.for_input(spec),
                tracker=self.tracker,
                handover=self.handover,
                counters=InputCounters(),
                work=queue.Queue(),
                spool_dir=str(tmp_path),
                state=DeliveryState(tmp_path / "state"),
            ),
            name="puller",
        )

    def _settle(self, inflight: InFlight, outcome: Outcome, exc: BaseException | None) -> None:
        self.settled.append((inflight.message_id, outcome, type(exc).__name__ if exc else ""))

    def handle(self, message_id: str, body: str) -> InFlight:
        inflight = self.tracker.receive(
            {"MessageId": message_id, "ReceiptHandle": message_id, "Body": body}, visibility_seconds=60
        )
        self.puller.handle(inflight)
        return inflight

    def deliver_everything(self) -> list[bytes]:
        """Acknowledge every batch handed over; the records they held."""
        records = []
        while not self.handover.outbox.empty():
            batch_id, payload = self.handover.outbox.get_nowait()
            records += [message for _, messages in decode_batch(payload).groups for message in messages]
            self.tracker.acknowledge(Ack(batch_id, Verdict.DELIVERED))
        return records


def s3_event(key: object) -> str:
    return json.dumps({"Records": [{"s3": {"bucket": {"name": "logs"}, "object": {"key": key}}}]})


GOOD = gzip.compress(b'{"kind":"a","n":1}\n{"kind":"b","n":2}\n')


def test_a_good_message_is_delivered_once_its_batches_are_acknowledged(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"app/good.gz": GOOD})
    rig.handle("m1", s3_event("app/good.gz"))
    assert rig.settled == []
    assert rig.deliver_everything() == [b'{"kind":"a","n":1}', b'{"kind":"b","n":2}']
    assert rig.settled == [("m1", Outcome.DELIVERED, "")]


@pytest.mark.parametrize(
    ("objects", "body", "has_dlq", "outcome", "error"),
    [
        ({}, s3_event(123), False, Outcome.PERMANENT, "NotificationError"),
        ({}, '{"Type": "Notification", "Message": 5}', False, Outcome.PERMANENT, "NotificationError"),
        (
            {"app/gone.gz": denied("NoSuchKey")},
            s3_event("app/gone.gz"),
            False,
            Outcome.PERMANENT,
            "PermanentObjectError",
        ),
        ({"app/secret.gz": denied("AccessDenied")}, s3_event("app/secret.gz"), False, Outcome.RETRYABLE, "AccessError"),
        ({"app/secret.gz": denied("AccessDenied")}, s3_event("app/secret.gz"), True, Outcome.PERMANENT, "AccessError"),
        (
            {"app/slow.gz": denied("SlowDown")},
            s3_event("app/slow.gz"),
            False,
            Outcome.RETRYABLE,
            "RetryableObjectError",
        ),
        (
            {"app/bad.gz": b"\x1f\x8b not gzip at all"},
            s3_event("app/bad.gz"),
            False,
            Outcome.PERMANENT,
            "PermanentObjectError",
        ),
        (
            {"app/bug.gz": ZeroDivisionError("a bug")},
            s3_event("app/bug.gz"),
            False,
            Outcome.PERMANENT,
            "ZeroDivisionError",
        ),
    ],
)
def test_any_failure_settles_its_message_once_and_the_next_one_is_collected(
    tmp_path: Path,
    objects: dict[str, bytes | Exception],
    body: str,
    has_dlq: bool,
    outcome: Outcome,
    error: str,
) -> None:
    rig = Rig(tmp_path, {**objects, "app/good.gz": GOOD}, has_dlq=has_dlq)
    rig.handle("poison", body)
    rig.handle("next", s3_event("app/good.gz"))
    assert len(rig.deliver_everything()) == 2
    assert rig.settled == [("poison", outcome, error), ("next", Outcome.DELIVERED, "")]


def test_a_stop_hands_the_message_back(tmp_path: Path) -> None:
    rig = Rig(tmp_path, {"app/good.gz": GOOD})
    rig.puller.stop()
    rig.handle("m1", s3_event("app/good.gz"))
    assert rig.settled == [("m1", Outcome.STOPPED, "")]


def test_a_message_whose_batch_failed_is_settled_once_even_if_its_puller_goes_on(tmp_path: Path) -> None:
    lines = b"".join(b'{"kind":"a","n":%d}\n' % n for n in range(50_000))
    rig = Rig(tmp_path, {"app/big.gz": gzip.compress(lines)}, wrap=10_000)  # several batches
    inflight = rig.tracker.receive(
        {"MessageId": "m1", "ReceiptHandle": "m1", "Body": s3_event("app/big.gz")}, visibility_seconds=60
    )

    def fail_first_batch() -> None:
        batch_id, _ = rig.handover.outbox.get(timeout=10)
        rig.tracker.acknowledge(Ack(batch_id, Verdict.FAILED))

    failing = threading.Thread(target=fail_first_batch)
    failing.start()
    rig.puller.handle(inflight)
    failing.join(10)
    assert rig.settled == [("m1", Outcome.RETRYABLE, "BatchFailed")]


def test_an_unexpected_failure_is_logged_once_with_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settlers: list[Settler] = []
    rig = Rig(tmp_path, {"app/bug.gz": ZeroDivisionError("a bug")}, settle=lambda *args: settlers[0].settle(*args))
    settlers.append(Settler(rig.spec, rig.setup, InputCounters(), report=lambda *_: None, name="settler"))
    with caplog.at_level(logging.WARNING):
        rig.handle("m1", s3_event("app/bug.gz"))
    [record] = [r for r in caplog.records if "m1" in r.getMessage()]
    assert record.getMessage() == (
        "Message m1 (receive count 1, s3://logs/app/bug.gz) failed permanently: ZeroDivisionError: a bug; back in 5 s, "
        "deleted once received 5 times (no dead-letter queue)"
    )
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
