"""The backfill checkpoint: positions per listing unit after every batch, replayed by the next run; a torn last
line (a write cut short by kill -9) counts as not written; a second run of the same backfill is refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from devo_sqs.backfill.checkpoint import Checkpoint, checkpoint_path
from devo_sqs.errors import BackfillError

PARAMETERS = {
    "bucket": "logs",
    "prefixes": ["AWSLogs/"],
    "since": "2024-01-02T00:00:00+00:00",
    "until": None,
    "key_regex": None,
    "queue_url": "https://sqs.eu-west-1.amazonaws.com/111122223333/devo-logs",
}


def test_positions_totals_and_completed_units_survive_the_run(tmp_path: Path) -> None:
    path = tmp_path / "backfill" / "logs.jsonl"
    first = Checkpoint(path, PARAMETERS)
    first.record(positions={"tree:a/": "a/1", "tree:b/": "b/7"}, done=[], objects=10, size=1000)
    first.record(positions={"tree:a/": "a/9"}, done=["tree:a/"], objects=4, size=50)
    first.close()

    again = Checkpoint(path, PARAMETERS)
    assert (again.positions, again.done, again.objects, again.bytes) == ({"tree:b/": "b/7"}, {"tree:a/"}, 14, 1050)
    assert (again.start_after("tree:b/"), again.start_after("tree:c/"), again.finished_at) == ("b/7", None, None)
    again.finish()
    again.close()
    assert Checkpoint(path, PARAMETERS).finished_at is not None


def test_a_write_cut_short_counts_as_not_written(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    checkpoint = Checkpoint(path, PARAMETERS)
    checkpoint.record(positions={"tree:a/": "a/1"}, done=[], objects=10, size=100)
    checkpoint.close()
    with path.open("ab") as journal:
        journal.write(b'{"sent": {"tree:a/": "a/2')
    again = Checkpoint(path, PARAMETERS)
    assert (again.positions, again.objects) == ({"tree:a/": "a/1"}, 10)
    again.record(positions={"tree:a/": "a/3"}, done=[], objects=10, size=100)
    again.close()
    assert (Checkpoint(path, PARAMETERS).positions, path.read_bytes().count(b"\n")) == ({"tree:a/": "a/3"}, 3)


def test_a_corrupt_line_inside_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    Checkpoint(path, PARAMETERS).close()
    with path.open("ab") as journal:
        journal.write(b"garbage\n{}\n")
    with pytest.raises(BackfillError) as error:
        Checkpoint(path, PARAMETERS)
    assert str(error.value) == f"checkpoint {path} is corrupt at line 2; remove it to start over"


def test_a_checkpoint_of_another_backfill_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    Checkpoint(path, PARAMETERS).close()
    with pytest.raises(BackfillError) as error:
        Checkpoint(path, {**PARAMETERS, "bucket": "other"})
    assert str(error.value).startswith(f"checkpoint {path} belongs to another backfill: {{'bucket': 'logs',")


def test_two_runs_of_one_backfill_cannot_share_the_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "logs.jsonl"
    running = Checkpoint(path, PARAMETERS)
    with pytest.raises(BackfillError) as error:
        Checkpoint(path, PARAMETERS)
    assert str(error.value) == f"another run of this backfill holds its checkpoint {path}"
    running.close()
    Checkpoint(path, PARAMETERS).close()


def test_the_file_is_private_and_named_by_the_backfill(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "backfill"
    path = checkpoint_path(directory, PARAMETERS)
    Checkpoint(path, PARAMETERS).close()
    assert path.parent == directory
    assert path.name.startswith("logs-") and path.suffix == ".jsonl"
    assert (stat.S_IMODE(os.stat(directory).st_mode), stat.S_IMODE(os.stat(path).st_mode)) == (0o700, 0o600)
    assert checkpoint_path(directory, dict(reversed(PARAMETERS.items()))) == path
    assert checkpoint_path(directory, {**PARAMETERS, "until": "2024-01-03T00:00:00+00:00"}) != path
