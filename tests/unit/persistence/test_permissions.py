"""The state directory is private: directories 0700, files 0600, whatever an older version left."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from devo_sqs.persistence.permissions import StateDirectoryUnusable, secure_state_directory, tighten


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def restored_umask() -> Iterator[None]:
    """`secure_state_directory` sets the process umask; the test process gets its own back."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_every_directory_becomes_0700_and_every_file_0600_and_links_are_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "spool" / "standard").mkdir(parents=True)
    (state / "spool" / "standard" / "cache.db").write_bytes(b"x")
    (state / "heartbeat").write_bytes(b"")
    (state / "private").write_bytes(b"")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"")
    (state / "link").symlink_to(outside)
    for path, path_mode in [
        (state, 0o755),
        (state / "spool", 0o775),
        (state / "spool" / "standard", 0o700),
        (state / "spool" / "standard" / "cache.db", 0o644),
        (state / "heartbeat", 0o666),
        (state / "private", 0o600),
        (outside, 0o644),
    ]:
        path.chmod(path_mode)
    assert tighten(state) == 4
    assert {
        str(path.relative_to(state)): mode(path) for path in [state, *state.rglob("*")] if not path.is_symlink()
    } == {
        ".": 0o700,
        "spool": 0o700,
        "spool/standard": 0o700,
        "spool/standard/cache.db": 0o600,
        "heartbeat": 0o600,
        "private": 0o600,
    }
    assert mode(outside) == 0o644
    assert tighten(state) == 0


def test_securing_sets_the_umask_creates_the_directory_and_says_how_many_were_tightened(
    tmp_path: Path, restored_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "new" / "state"
    with caplog.at_level(logging.INFO, logger="devo_sqs.persistence.permissions"):
        assert secure_state_directory(state) == 0
    assert caplog.messages == []
    (state / "made-later").write_bytes(b"")
    (state / "made-later-dir").mkdir()
    assert (mode(state), mode(state / "made-later"), mode(state / "made-later-dir")) == (0o700, 0o600, 0o700)
    (state / "made-later").chmod(0o644)
    with caplog.at_level(logging.INFO, logger="devo_sqs.persistence.permissions"):
        assert secure_state_directory(state) == 1
    assert caplog.messages == [
        f"Tightened the permissions of 1 path(s) in the state directory {state} (directories 0700, files 0600)"
    ]


def test_paths_another_user_owns_are_left_as_they_are(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    (state / "file").write_bytes(b"")
    (state / "file").chmod(0o644)
    state.chmod(0o755)
    assert tighten(state, owner=os.geteuid() + 1) == 0
    assert (mode(state), mode(state / "file")) == (0o755, 0o644)


def test_a_state_directory_that_cannot_be_created_is_one_clear_error(tmp_path: Path, restored_umask: None) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    with pytest.raises(StateDirectoryUnusable) as refused:
        secure_state_directory(tmp_path / "a-file" / "state")
    assert str(refused.value) == f"Cannot create the state directory {tmp_path}/a-file/state: Not a directory"
