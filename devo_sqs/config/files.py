"""Files a configuration names (the outputs' CA chain, certificate and key) must be readable where the
collector runs: `validate` and `run` check them with every other problem, before anything touches AWS."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devo_sqs.config.models import CollectorConfig

CHECK_FILES = "check_files"
"""Validation context flag: check the named files on this host (`parse` and `health` do not)."""


def unreadable_file(path: str) -> str | None:
    """Why the file at `path` cannot be read, or None when it can."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return f"{path} is not a regular file"
        with open(path, "rb"):
            return None
    except FileNotFoundError:
        return f"file not found: {path}"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"


def exposed_private_keys(config: CollectorConfig) -> Iterator[str]:
    """One warning per output whose private key other local users may read."""
    for name, output in config.outputs.items():
        key = getattr(output, "key", None)
        try:
            status = os.stat(key) if key is not None else None
        except OSError:
            continue  # reported as a problem by validation
        if status is not None and exposes(status.st_mode, owner=status.st_uid, user=os.geteuid()):
            mode = stat.S_IMODE(status.st_mode)
            yield (
                f"outputs.{name}.key: private key {key} is readable by group/others (mode {mode:04o}); "
                "only the collector's user should read it"
            )


def exposes(mode: int, *, owner: int, user: int) -> bool:
    """Whether a key file lets other users read it: anyone may, or its group may while the collector owns it.
    (A key the collector reads through its group, as Kubernetes mounts secrets with `defaultMode: 0440` and an
    fsGroup, is how it should be.)"""
    return bool(mode & stat.S_IROTH or (mode & stat.S_IRGRP and owner == user))
