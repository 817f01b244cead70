"""The collector's log line format, and forwarding of child-process logs to the parent's stderr.

2024-01-16T12:47:04.044    INFO InputProcess::AWSsqsPuller(sqs_collector,12345,aws_sqs_vpc,predefined) -> msg
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from multiprocessing.queues import Queue
from typing import Any


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
    """Logging for a process that writes its own lines (the parent, or `parse`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(CollectorFormatter())
    _replace_root_handlers(handler, level_for(debug))


def forward_to(queue: Queue[Any], *, debug: bool) -> None:
    """In a child process: send every record to the parent, which writes them in order."""
    _replace_root_handlers(logging.handlers.QueueHandler(queue), level_for(debug))


def start_listener(queue: Queue[Any]) -> logging.handlers.QueueListener:
    """In the parent: write the records children forward, with the collector's format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(CollectorFormatter())
    listener = logging.handlers.QueueListener(queue, handler)
    listener.start()
    return listener


def _replace_root_handlers(handler: logging.Handler, level: int) -> None:
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
