"""The delivery state: checkpoints count positions in an object's record sequence, advance over contiguous
settled ranges whatever order acknowledgements come in, and are keyed by the content a GET returned and the
fingerprint of what shaped the sequence."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from devo_sqs.messages import ObjectIdentity
from devo_sqs.persistence.state import Checkpoint, DeliveryState

OBJECT = ObjectIdentity(bucket="logs", key="app/part-0.json.gz", size=1000, etag="e1")


@pytest.fixture
def state(tmp_path: Path) -> DeliveryState:
    return DeliveryState(tmp_path / "state")


def checkpoint(state: DeliveryState, identity: ObjectIdentity = OBJECT, *, fingerprint: str = "f1") -> Checkpoint:
    found = state.checkpoint(identity, fingerprint=fingerprint)
    assert found is not None
    return found


def reopened(path: Path, identity: ObjectIdentity = OBJECT, *, fingerprint: str = "f1") -> int | None:
    """Where a restarted collector resumes the object (None: already delivered)."""
    state = DeliveryState(path)
    try:
        found = state.checkpoint(identity, fingerprint=fingerprint)
        return None if found is None else found.resume_at
    finally:
        state.close()


def test_acknowledgements_in_any_order_advance_the_prefix_only_over_contiguous_ranges(
    state: DeliveryState, tmp_path: Path
) -> None:
    point = checkpoint(state)
    point.acknowledged(30, 45)
    point.acknowledged(10, 30)
    assert point.resume_at == 0
    assert reopened(tmp_path / "state") == 0
    point.acknowledged(0, 10)
    assert point.resume_at == 45
    point.acknowledged(60, 70)
    point.acknowledged(45, 50)
    assert point.resume_at == 50
    assert reopened(tmp_path / "state") == 50


def test_a_filtered_gap_counts_once_every_record_before_it_is_delivered(state: DeliveryState) -> None:
    point = checkpoint(state)
    point.acknowledged(20, 35)  # positions 20..34 were all filtered out: settled with nothing in flight
    assert point.resume_at == 0
    point.acknowledged(0, 20)
    assert point.resume_at == 35


def test_a_range_that_began_before_the_resume_point_extends_the_prefix(state: DeliveryState, tmp_path: Path) -> None:
    checkpoint(state).acknowledged(0, 100)
    resumed = checkpoint(state)
    assert resumed.resume_at == 100
    resumed.acknowledged(97, 140)  # a run cut where the earlier one was not: it starts a little before
    resumed.acknowledged(150, 160)
    assert resumed.resume_at == 140
    assert reopened(tmp_path / "state") == 140


def test_an_object_is_delivered_once_its_whole_sequence_is_settled_and_then_skipped(
    state: DeliveryState, tmp_path: Path
) -> None:
    point = checkpoint(state)
    point.acknowledged(0, 60)
    point.finished(100)
    assert not point.done
    assert reopened(tmp_path / "state") == 60
    point.acknowledged(60, 100)
    assert point.done
    assert state.checkpoint(OBJECT, fingerprint="f1") is None
    state.flush()  # as a stopping collector writes its finished marks (else within FINISHED_WRITE_SECONDS)
    assert reopened(tmp_path / "state") is None
    assert reopened(tmp_path / "state", fingerprint="another") is None  # a finished object stays finished


def test_acknowledgements_before_the_end_is_known_finish_the_object_when_it_is(state: DeliveryState) -> None:
    point = checkpoint(state)
    point.acknowledged(0, 100)
    assert not point.done
    point.finished(100)
    assert point.done
    assert state.checkpoint(OBJECT, fingerprint="f1") is None


def test_an_empty_object_is_delivered_when_read(state: DeliveryState) -> None:
    checkpoint(state).finished(0)
    assert state.checkpoint(OBJECT, fingerprint="f1") is None


def test_a_checkpoint_counted_under_another_fingerprint_starts_the_object_over(
    state: DeliveryState, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoint(state).acknowledged(0, 500)
    with caplog.at_level(logging.INFO, logger="devo_sqs.persistence.state"):
        assert reopened(tmp_path / "state", fingerprint="f2") == 0
    assert caplog.messages == [
        "Starting s3://logs/app/part-0.json.gz over: 500 record(s) of it were delivered under another service, "
        "file_format, encoding, charset or bound, which may split it into other records"
    ]
    assert reopened(tmp_path / "state", fingerprint="f1") == 500


def test_new_content_under_the_same_key_starts_over_and_the_same_content_resumes_under_any_version(
    state: DeliveryState, tmp_path: Path
) -> None:
    checkpoint(state).acknowledged(0, 500)
    path = tmp_path / "state"
    rewritten = ObjectIdentity(bucket="logs", key=OBJECT.key, size=1000, etag="e2")
    assert reopened(path, rewritten) == 0
    resized = ObjectIdentity(bucket="logs", key=OBJECT.key, size=999, etag="e1")
    assert reopened(path, resized) == 0
    other_version = ObjectIdentity(bucket="logs", key=OBJECT.key, size=1000, etag="e1", version_id="v7")
    assert reopened(path, other_version) == 500
    other_bucket = ObjectIdentity(bucket="other", key=OBJECT.key, size=1000, etag="e1")
    assert reopened(path, other_bucket) == 0


def test_without_an_etag_the_version_id_or_the_modification_time_tells_contents_apart(state: DeliveryState) -> None:
    first = ObjectIdentity(bucket="b", key="k", size=10, etag=None, version_id="v1")
    checkpoint(state, first).acknowledged(0, 5)
    assert checkpoint(state, first).resume_at == 5
    assert checkpoint(state, ObjectIdentity(bucket="b", key="k", size=10, etag=None, version_id="v2")).resume_at == 0
    dated = ObjectIdentity(bucket="b", key="d", size=10, etag=None, last_modified="2024-01-16T12:00:00+00:00")
    checkpoint(state, dated).acknowledged(0, 5)
    assert checkpoint(state, dated).resume_at == 5
    later = ObjectIdentity(bucket="b", key="d", size=10, etag=None, last_modified="2024-01-16T12:05:00+00:00")
    assert checkpoint(state, later).resume_at == 0


def test_a_state_written_by_an_older_version_resumes_nothing(state: DeliveryState, tmp_path: Path) -> None:
    state.record("logs/app/part-0.json.gz@etag=e1 size=1000", 700)  # a bare record count, without a fingerprint
    assert checkpoint(state).resume_at == 0
