"""The heartbeat: what the running collector says about its own health, in `<state dir>/heartbeat`.

The parent writes it every few seconds from its children's progress reports, not from processes merely existing:
the problems it lists are a child down, collection stalled (messages in flight and nothing settled for
`stall_seconds`), a thread restarting more than 3 times in 5 minutes, an emergency spool that cannot be written, a
child that stopped reporting. `devo-sqs health` reads it; a heartbeat that is not fresh means the parent itself is
stuck or gone.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devo_sqs.config.models import Globals

HEARTBEAT_FILE = "heartbeat"
RESTARTS_TOLERATED = 3  # per thread, within the restart window (5 minutes)
SILENCE_SECONDS = 30.0  # a child that has not reported for this long is stuck


def heartbeat_path(globals_: Globals) -> Path:
    """Where the collector beats: the contract between the running collector and `devo-sqs health`."""
    return Path(globals_.persistence.config.directory_name) / HEARTBEAT_FILE


@dataclass(frozen=True)
class ChildView:
    """What the parent knows of one child when it beats."""

    name: str  # "input" or "output"
    alive: bool
    snapshot: Mapping[str, Any]  # its latest report
    silent_seconds: float  # since that report arrived


def problems(children: list[ChildView], *, stall_seconds: float) -> list[str]:
    """Why the collector is unhealthy; empty when it is healthy."""
    found: list[str] = []
    for child in children:
        if not child.alive:
            found.append(f"the {child.name} process is down")
            continue
        if child.silent_seconds > SILENCE_SECONDS:
            found.append(f"the {child.name} process has not reported for {child.silent_seconds:.0f} s")
        for thread, count in sorted(child.snapshot.get("thread_restarts", {}).items()):
            if count > RESTARTS_TOLERATED:
                found.append(f"thread {thread} of the {child.name} process restarted {count} times in 5 minutes")
    found += _input_problems(next((c for c in children if c.name == "input" and c.alive), None), stall_seconds)
    found += _output_problems(next((c for c in children if c.name == "output" and c.alive), None))
    return found


def _input_problems(child: ChildView | None, stall_seconds: float) -> list[str]:
    if child is None:
        return []
    in_flight = child.snapshot.get("messages_in_flight", 0)
    quiet = child.snapshot.get("seconds_since_settlement", 0.0) + child.silent_seconds
    if in_flight and quiet > stall_seconds:
        return [
            f"collection stalled: {in_flight} message(s) in flight and nothing settled for {quiet:.0f} s "
            f"(stall_seconds {stall_seconds:.0f})"
        ]
    return []


def _output_problems(child: ChildView | None) -> list[str]:
    if child is None:
        return []
    managers = child.snapshot.get("managers", {})
    failing = sorted(kind for kind, manager in managers.items() if manager.get("spool_failing"))
    return [f"emergency persistence of the {kind} manager cannot be written" for kind in failing]


def write(path: Path, found: list[str]) -> None:
    """Replace the heartbeat atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps({"time": time.time(), "pid": os.getpid(), "problems": found}))
    scratch.replace(path)


def read(path: Path) -> dict[str, Any]:
    """The last heartbeat; raises OSError when there is none, ValueError when it is not one."""
    document = json.loads(path.read_text())
    if not isinstance(document, dict) or not isinstance(document.get("problems"), list):
        raise ValueError("not a heartbeat")
    return document
