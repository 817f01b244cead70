"""`devo-sqs health [CONFIG]`: exit 0 while the running collector makes progress, 1 with one line why otherwise.

The collector's parent process writes `<state dir>/heartbeat` every 5 s from its children's progress reports (see
devo_sqs/heartbeat.py): a heartbeat that is missing or stale says the collector is not running or its parent is
stuck; a fresh one lists what is wrong, if anything (a child down, collection stalled, a crash-looping thread, a
spool that cannot be written). Exit codes: 0 healthy, 1 unhealthy, 2 invalid configuration.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from devo_sqs.config.server_mode import load_config_source
from devo_sqs.heartbeat import heartbeat_path, read


def check_health(config: str | None, *, max_age_seconds: float) -> int:
    """Print one line saying why; 0 when healthy, else 1."""
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
        document = read(path)
    except (FileNotFoundError, NotADirectoryError):
        return False, f"Unhealthy: no heartbeat at {path} (the collector is not running, or not started yet)"
    except OSError as exc:
        return False, f"Unhealthy: cannot read the heartbeat {path}: {exc.strerror}"
    except ValueError:
        return False, f"Unhealthy: {path} is not a heartbeat written by devo-sqs"
    age = max(0.0, now - modified)
    if age > max_age_seconds:
        return False, f"Unhealthy: heartbeat {path} is {age:.0f} s old ({limit}): the collector is stuck or gone"
    found = document["problems"]
    if found:
        return False, f"Unhealthy: {'; '.join(map(str, found))}"
    return True, f"Healthy: heartbeat {path} is {age:.0f} s old ({limit})"
