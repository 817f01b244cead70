"""The delivery state of an object advances with its acknowledgements and is written only when what it says
changed: a small object's checkpoint is written once, when its batch is acknowledged."""

from __future__ import annotations

from pathlib import Path

from devo_sqs.ingest.notifications import ObjectRef
from devo_sqs.persistence.state import DeliveryState

REF = ObjectRef(bucket="logs", key="app/part-0000.json.gz", etag="abc")


class CountingState(DeliveryState):
    """A real delivery state that also counts its writes."""

    writes: list[int]

    def record(self, key: str, value: int) -> None:
        self.writes.append(value)
        super().record(key, value)


def counting_state(directory: Path) -> CountingState:
    state = CountingState(directory)
    state.writes = []
    return state


def test_a_small_object_is_written_once_when_its_only_batch_is_acknowledged(tmp_path: Path) -> None:
    state = counting_state(tmp_path)
    checkpoint = state.checkpoint(REF)
    assert checkpoint is not None
    checkpoint.finished(30)
    assert (state.writes, state.delivered_prefix(REF)) == ([], 0)
    checkpoint.acknowledged(0, 30)
    assert (state.writes, state.delivered_prefix(REF)) == ([-1], None)
    assert state.checkpoint(REF) is None


def test_a_large_object_records_each_advance_of_its_delivered_prefix_once(tmp_path: Path) -> None:
    state = counting_state(tmp_path)
    checkpoint = state.checkpoint(REF)
    assert checkpoint is not None
    checkpoint.acknowledged(100, 200)  # out of order: the prefix does not move yet
    checkpoint.acknowledged(0, 100)
    checkpoint.finished(300)
    assert (state.writes, state.delivered_prefix(REF)) == ([200], 200)
    resumed = counting_state(tmp_path).checkpoint(REF)
    assert resumed is not None and resumed.resume_at == 200
    checkpoint.acknowledged(200, 300)
    assert (state.writes, state.delivered_prefix(REF)) == ([200, -1], None)
