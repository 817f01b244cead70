"""Where a backfill stands, so the same command continues after a stop: per listing unit, the last key whose
notification SQS accepted, written after every SendMessageBatch.

An append-only journal of JSON lines, one write per batch: after SIGTERM or Ctrl-C nothing is sent twice; after
kill -9 at most the batch whose line was not written yet. A torn last line (the write cut short) is dropped.
The file is locked while a backfill runs, so two runs of the same backfill cannot interleave.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from devo_sqs.errors import BackfillError

FOLDER = "backfill"  # under the configuration's state directory


def checkpoint_path(directory: Path, parameters: Mapping[str, Any]) -> Path:
    """One file per backfill: the same bucket, prefixes, window, regex and queue continue the same file."""
    digest = hashlib.sha256(orjson.dumps(parameters, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    bucket = re.sub(r"[^A-Za-z0-9.-]", "_", str(parameters["bucket"]))
    return directory / f"{bucket}-{digest}.jsonl"


class Checkpoint:
    def __init__(self, path: Path, parameters: Mapping[str, Any]) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self.positions: dict[str, str] = {}  # unit id -> last key sent
        self.done: set[str] = set()  # units listed to the end and sent
        self.objects = 0  # sent by every run of this backfill
        self.bytes = 0
        self.finished_at: str | None = None
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise BackfillError(f"another run of this backfill holds its checkpoint {path}") from None
        self._replay(dict(parameters))

    def start_after(self, unit_id: str) -> str | None:
        return self.positions.get(unit_id)

    def record(self, *, positions: Mapping[str, str], done: Iterable[str], objects: int, size: int) -> None:
        """After a SendMessageBatch SQS accepted: the units' new positions, and the units it completed."""
        entry = {"sent": dict(positions), "done": sorted(done), "objects": objects, "bytes": size}
        self._write(entry)
        self._apply(entry)

    def finish(self) -> None:
        entry = {"finished": datetime.now(UTC).isoformat(timespec="seconds")}
        self._write(entry)
        os.fsync(self._fd)
        self._apply(entry)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def _replay(self, parameters: dict[str, Any]) -> None:
        content = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
        if not content:
            self._write({"backfill": parameters, "started": datetime.now(UTC).isoformat(timespec="seconds")})
            return
        whole = content[: content.rfind(b"\n") + 1]
        if len(whole) < len(content):
            os.ftruncate(self._fd, len(whole))  # the last write was cut short: its batch counts as not sent
        for number, line in enumerate(whole.splitlines(), 1):
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise BackfillError(
                    f"checkpoint {self.path} is corrupt at line {number}; remove it to start over"
                ) from None
            if number == 1 and entry.get("backfill") != parameters:
                raise BackfillError(f"checkpoint {self.path} belongs to another backfill: {entry.get('backfill')}")
            self._apply(entry)

    def _apply(self, entry: dict[str, Any]) -> None:
        self.positions.update(entry.get("sent", {}))
        for unit_id in entry.get("done", ()):
            self.done.add(unit_id)
            self.positions.pop(unit_id, None)
        self.objects += int(entry.get("objects", 0))
        self.bytes += int(entry.get("bytes", 0))
        self.finished_at = entry.get("finished", self.finished_at)

    def _write(self, entry: dict[str, Any]) -> None:
        line = memoryview(orjson.dumps(entry) + b"\n")
        while line:
            line = line[os.write(self._fd, line) :]
