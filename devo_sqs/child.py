"""What every child process does first: take its name, leave signals to the parent, send its logs home over its
report pipe, and listen for the parent's commands. The parent's end of the control pipe closing means the parent
is gone, however it died."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from devo_sqs.links import Command
from devo_sqs.reports import ReportWriter

log = logging.getLogger(__name__)

COMM_PATH = Path("/proc/self/comm")


def name_process(comm: str) -> None:
    """Set the name `ps` and `top` show (the process comm, at most 15 characters); Linux only."""
    with contextlib.suppress(OSError):
        COMM_PATH.write_text(comm[:15])


def leave_signals_to_parent() -> None:
    """Ctrl-C and a terminal hang-up reach the whole process group; only the parent decides how to stop."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


class ChildLink:
    """A child's side of its two pipes to the parent."""

    def __init__(self, *, comm: str, control: Connection, reports: Connection, debug: bool) -> None:
        name_process(comm)
        leave_signals_to_parent()
        self._control = control
        self.reports = ReportWriter(reports)
        self.reports.forward_logs(debug=debug)
        self.reports.start()

    def next_command(self, timeout: float) -> str | None:
        """The parent's next command, None when there was none within `timeout`, GONE when the parent is gone."""
        try:
            if self._control.poll(timeout):
                command: str = self._control.recv()
                return command
        except (EOFError, OSError):
            return Command.GONE
        return Command.GONE if self.reports.parent_gone.is_set() else None

    def close(self, *, timeout: float = 2.0) -> None:
        """Send what is still queued for the parent (within `timeout`)."""
        self.reports.stop()
        self.reports.join(timeout)


@contextmanager
def child_process(*, comm: str, control: Connection, reports: Connection, debug: bool) -> Iterator[ChildLink]:
    """A child's whole life: its link to the parent, one line when it starts, its failure logged with the
    traceback, and what it still has to say sent home at the end."""
    link = ChildLink(comm=comm, control=control, reports=reports, debug=debug)
    log.info("Process started")
    try:
        yield link
    except Exception:
        log.exception("The %s failed", multiprocessing.current_process().name)
        raise
    finally:
        link.close()
