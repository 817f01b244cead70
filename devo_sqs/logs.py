"""The collector's log line format, and where lines go: a child's lines travel to the parent over its report pipe,
and the parent writes every line to stderr from one writer thread.

2024-01-16T12:47:04.044    INFO InputProcess::AWSsqsPuller(sqs_collector,12345,aws_sqs_vpc,predefined) -> msg

Logging never blocks collection: between a thread that logs and stderr there is always a bounded queue; when it is
full (a stalled stderr reader, a flood of debug_mode lines) lines are dropped and counted, and the count is logged
once a minute and at the end.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

DROPPED_REPORT_SECONDS = 60.0
QUEUE_RECORDS = 10_000


class CollectorFormatter(logging.Formatter):
    """UTC time with milliseconds, level right-aligned in 7, then `Process::Thread -> message`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = (
            f"{stamp}.{int(record.msecs):03d} {record.levelname:>7} "
            f"{record.processName}::{record.threadName} -> {record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def level_for(debug: bool) -> int:
    return logging.DEBUG if debug else logging.INFO


def configure_stderr(*, debug: bool) -> None:
    """Logging for a short command that writes its own lines (`parse`, `validate`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(CollectorFormatter())
    replace_root_handlers(handler, level_for(debug))


def flatten(record: logging.LogRecord) -> dict[str, Any]:
    """A record as plain data that pickles: the message rendered, the traceback appended to it."""
    message = record.getMessage()
    if record.exc_info:
        message += "\n" + logging.Formatter().formatException(record.exc_info)
    values = dict(record.__dict__)
    values.update(msg=message, args=None, exc_info=None, exc_text=None, stack_info=None)
    return values


class DropCounter:
    """Counts lines a full queue refused, and says so at most once a minute."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.dropped = 0
        self._reported_at = time.monotonic()

    def add(self) -> None:
        self.dropped += 1

    def due_line(self, *, final: bool = False) -> str | None:
        """The line to log now, if lines were dropped and a minute passed since the last one (or this is the last)."""
        if not self.dropped or (not final and time.monotonic() - self._reported_at < DROPPED_REPORT_SECONDS):
            return None
        count, self.dropped, self._reported_at = self.dropped, 0, time.monotonic()
        return f"{count} log line(s) dropped since the last report: {self.what} could not keep up"


class QueueingHandler(logging.Handler):
    """Hands each record, flattened, to `put` (which must never block); refused records are counted."""

    def __init__(self, put: Callable[[dict[str, Any]], bool], drops: DropCounter) -> None:
        super().__init__()
        self._put = put
        self._drops = drops

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if not self._put(flatten(record)):
                self._drops.add()
        except Exception:  # a failing handler must never break the code that logged
            self.handleError(record)


class StderrWriter:
    """The parent's only writer of log lines: records from every process, through one bounded queue."""

    def __init__(self, *, stream: TextIO | None = None, capacity: int = QUEUE_RECORDS) -> None:
        self._handler = logging.StreamHandler(stream or sys.stderr)
        self._handler.setFormatter(CollectorFormatter())
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=capacity)
        self.drops = DropCounter("stderr")
        self._thread = threading.Thread(target=self._run, name="LogWriter", daemon=True)

    def start(self, *, debug: bool) -> StderrWriter:
        replace_root_handlers(QueueingHandler(self.offer, self.drops), level_for(debug))
        self._thread.start()
        return self

    def offer(self, record: dict[str, Any]) -> bool:
        """Queue a record for stderr; False (and nothing waits) when the queue is full."""
        try:
            self._queue.put_nowait(record)
            return True
        except queue.Full:
            return False

    def stop(self, *, timeout: float = 2.0) -> None:
        """Write what is queued (within `timeout`) and stop."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                record = self._queue.get(timeout=1.0)
            except queue.Empty:
                record = {}
            if record:
                self._handler.handle(logging.makeLogRecord(record))
            line = self.drops.due_line(final=record is None)
            if line:
                self._handler.handle(_warning(line))
            if record is None:
                return


def _warning(message: str) -> logging.LogRecord:
    record = logging.LogRecord("devo_sqs.logs", logging.WARNING, __file__, 0, message, None, None)
    record.threadName = "LogWriter"
    return record


def replace_root_handlers(handler: logging.Handler, level: int) -> None:
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
