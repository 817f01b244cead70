"""Child-process hygiene: the parent alone reacts to signals, and children notice when it dies."""

from __future__ import annotations

import os
import signal

_PARENT_PID = os.getppid()


def ignore_terminal_signals() -> None:
    """Ctrl-C reaches the whole process group; only the parent decides how to stop."""
    global _PARENT_PID
    _PARENT_PID = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def parent_alive() -> bool:
    return os.getppid() == _PARENT_PID
