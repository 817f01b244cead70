"""Files at rest are private: the state directory holds customers' logs in the emergency spool (their SQS
messages already deleted) and what was delivered. Everything the collector creates is made under a umask of
077, and at start every directory in the state directory is made 0700 and every file 0600, so what an older
version left readable by other local users is tightened too. Paths the collector's user does not own (the root
of a volume Kubernetes mounts with an fsGroup) are not its to change and are left as they are."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from devo_sqs.errors import CollectorError

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


class StateDirectoryUnusable(CollectorError):
    """The state directory cannot be created."""


def secure_state_directory(directory: Path) -> int:
    """Set the process umask (children inherit it), create `directory`, tighten what is in it.
    Returns how many paths were tightened (also logged)."""
    os.umask(PRIVATE_UMASK)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateDirectoryUnusable(f"Cannot create the state directory {directory}: {exc.strerror}") from None
    tightened = tighten(directory)
    if tightened:
        log.info(
            "Tightened the permissions of %d path(s) in the state directory %s (directories 0700, files 0600)",
            tightened,
            directory,
        )
    return tightened


def tighten(directory: Path, *, owner: int | None = None) -> int:
    """Make `directory` and every directory below it 0700 and every file 0600, where `owner` (default: this
    process's user) owns them; symbolic links are left alone. Returns how many modes changed."""
    user = os.geteuid() if owner is None else owner
    changed = _restrict(directory, DIRECTORY_MODE, user)
    for root, directories, files in os.walk(directory):
        changed += sum(_restrict(Path(root, name), DIRECTORY_MODE, user) for name in directories)
        changed += sum(_restrict(Path(root, name), FILE_MODE, user) for name in files)
    return changed


def _restrict(path: Path, mode: int, user: int) -> int:
    """1 when the mode of `path` was changed to `mode`; a path the collector cannot change is a warning."""
    try:
        status = os.lstat(path)
        if stat.S_ISLNK(status.st_mode) or stat.S_IMODE(status.st_mode) == mode or status.st_uid != user:
            return 0
        os.chmod(path, mode)
    except FileNotFoundError:
        return 0  # removed meanwhile (a diskcache write-ahead file)
    except OSError as exc:
        log.warning("Cannot make %s private (mode %04o): %s", path, mode, exc.strerror)
        return 0
    return 1
