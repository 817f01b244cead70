"""`devo-sqs health [CONFIG]`: exit 0 while the running collector's heartbeat is fresh.

The collector's parent process touches `<state dir>/heartbeat` every 10 s while both child processes are alive,
so a missing or stale file tells a container health check that the collector is stuck, dead or never started -
something a valid config file alone cannot say. Exit codes: 0 healthy, 1 unhealthy, 2 invalid configuration.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from devo_sqs.config.models import Globals
from devo_sqs.config.server_mode import load_config_source

HEARTBEAT_FILE = "heartbeat"


def heartbeat_path(globals_: Globals) -> Path:
    """Where the collector beats: the contract between the running collector and this check."""
    return Path(globals_.persistence.config.directory_name) / HEARTBEAT_FILE


def check_health(config: str | None, *, max_age_seconds: float) -> int:
    """Print one line saying why; 0 when the heartbeat is at most `max_age_seconds` old, else 1."""
    collector_config, _ = load_config_source(config)
    path = heartbeat_path(collector_config.globals)
    healthy, line = verdict(path, max_age_seconds=max_age_seconds, now=time.time())
    print(line, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


def verdict(path: Path, *, max_age_seconds: float, now: float) -> tuple[bool, str]:
    """Healthy or not, and the line that says why. A beat from the future (clock skew) counts as fresh."""
    limit = f"limit {max_age_seconds:g} s"
    try:
        modified = path.stat().st_mtime
    except (FileNotFoundError, NotADirectoryError):
        return False, f"Unhealthy: no heartbeat at {path} (the collector is not running, or not started yet)"
    except OSError as exc:
        return False, f"Unhealthy: cannot read the heartbeat {path}: {exc.strerror}"
    age = max(0.0, now - modified)
    if age > max_age_seconds:
        return False, f"Unhealthy: heartbeat {path} is {age:.0f} s old ({limit}): a collector process is stuck or gone"
    return True, f"Healthy: heartbeat {path} is {age:.0f} s old ({limit})"
