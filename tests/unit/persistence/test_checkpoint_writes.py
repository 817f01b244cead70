"""A checkpoint is written only when what it says changed: a small object's once, when its one batch is
acknowledged (not also at its end, with nothing acknowledged yet); a large object's at each advance of its prefix.
Finished marks count at once and are written in groups: at a stop, when a group is full, or by their timer."""

from __future__ import annotations

from pathlib import Path

from devo_sqs.messages import ObjectIdentity
from devo_sqs.persistence.state import DONE, FINISHED_BATCH, DeliveryState

OBJECT = ObjectIdentity(bucket="logs", key="app/part-0000.json.gz", size=1000, etag="e1")


class CountingState(DeliveryState):
    """A real delivery state that also keeps what it was asked to write."""

    writes: list[object]

    def record(self, key: str, value: object) -> None:
        self.writes.append(value)
        super().record(key, value)


def counting_state(directory: Path) -> CountingState:
    state = CountingState(directory)
    state.writes = []
    return state


def test_a_small_object_is_written_once_when_its_only_batch_is_acknowledged(tmp_path: Path) -> None:
    state = counting_state(tmp_path)
    checkpoint = state.checkpoint(OBJECT, fingerprint="f1")
    assert checkpoint is not None
    checkpoint.finished(30)
    assert state.writes == []
    checkpoint.acknowledged(0, 30)
    assert state.writes == [DONE]
    assert state.checkpoint(OBJECT, fingerprint="f1") is None


def test_a_large_object_writes_each_advance_of_its_prefix_once(tmp_path: Path) -> None:
    state = counting_state(tmp_path)
    checkpoint = state.checkpoint(OBJECT, fingerprint="f1")
    assert checkpoint is not None
    checkpoint.acknowledged(100, 200)  # out of order: the prefix does not move yet
    checkpoint.acknowledged(0, 100)
    checkpoint.finished(300)
    assert state.writes == [(200, "f1")]
    resumed = counting_state(tmp_path).checkpoint(OBJECT, fingerprint="f1")
    assert resumed is not None and resumed.resume_at == 200
    checkpoint.acknowledged(200, 300)
    assert state.writes == [(200, "f1"), DONE]


def test_finished_marks_count_at_once_and_are_written_together(tmp_path: Path) -> None:
    state = DeliveryState(tmp_path / "state")
    objects = [ObjectIdentity(bucket="logs", key=f"app/{n}.json.gz", size=10, etag=f"e{n}") for n in range(3)]
    for identity in objects:
        checkpoint = state.checkpoint(identity, fingerprint="f1")
        assert checkpoint is not None
        checkpoint.finished(30)
        checkpoint.acknowledged(0, 30)
    assert [state.checkpoint(identity, fingerprint="f1") for identity in objects] == [None, None, None]
    state.close()  # a stop writes what is waiting
    restarted = DeliveryState(tmp_path / "state")
    assert [restarted.checkpoint(identity, fingerprint="f1") for identity in objects] == [None, None, None]
    restarted.close()


def test_a_full_group_of_finished_marks_is_written_without_waiting(tmp_path: Path) -> None:
    state = DeliveryState(tmp_path / "state")
    objects = [ObjectIdentity(bucket="logs", key=f"app/{n}.json.gz", size=10, etag="e") for n in range(FINISHED_BATCH)]
    for identity in objects:
        checkpoint = state.checkpoint(identity, fingerprint="f1")
        assert checkpoint is not None
        checkpoint.finished(1)
        checkpoint.acknowledged(0, 1)
    other = DeliveryState(tmp_path / "state")  # sees only what is written
    assert all(other.checkpoint(identity, fingerprint="f1") is None for identity in objects)
    state.close()
    other.close()
