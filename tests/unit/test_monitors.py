"""The operator's health lines: the GC/memory line, sender statistics, the log line format."""

from __future__ import annotations

import logging
import re

from devo_sqs.config.models import SyslogOutput
from devo_sqs.logs import CollectorFormatter
from devo_sqs.monitor import gc_line, human_bytes
from devo_sqs.output.managers import SenderManager

SIZE = r"\d+\.\d{2}(B|KiB|MiB|GiB)"


def test_the_gc_line_reports_global_and_process_memory_before_and_after() -> None:
    line = gc_line()
    pattern = rf"\[GC\] global: \d+\.\d% -> \d+\.\d%, process: RSS\({SIZE} -> {SIZE}\), VMS\({SIZE} -> {SIZE}\)"
    assert re.fullmatch(pattern, line), line


def test_sizes_are_human_with_two_decimals() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1024, 35_389_440, 3 << 30)] == [
        "0.00B",
        "1023.00B",
        "1.00KiB",
        "33.75MiB",
        "3.00GiB",
    ]


def test_sender_statistics_lines_match_what_operators_watch() -> None:
    outputs = {"relay": SyslogOutput(type="relay", address="127.0.0.1", port=9, concurrent_connections=2)}
    manager = SenderManager("standard", outputs, on_ack=lambda ack: None)
    manager.stats.delivered([("a.b", [b"1", b"2"]), ("c.d", [b"3"])])
    first, waited, *senders, totals = manager.status_lines()
    assert first == (
        "Number of available senders: 2, sender manager internal queue size: 0, emergency persistence: 0 batch(es)"
    )
    assert waited == "enqueued_elapsed_times_in_seconds_stats: {}"  # nothing went through a queue
    assert senders == [
        f'Sender: SyslogSender(standard_senders,relay_{n}), status: {{"internal_queue_size": 0, '
        '"is_connection_open": False, "output_down": False, "reconnects": 0}'
        for n in range(2)
    ]
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00"
    assert re.fullmatch(
        rf'Standard - Total number of messages sent: 3, messages sent since "{stamp}": 3 '
        r"\(elapsed \d+\.\d{3} seconds\)",
        totals,
    ), totals
    again = manager.status_lines()[-1]
    assert re.fullmatch(rf'Standard - Total number of messages sent: 3, messages sent since "{stamp}": 0 \(.*\)', again)


def test_log_lines_carry_utc_millis_a_right_aligned_level_and_process_and_thread() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "Acked message receiptHandle: %s", ("abc",), None)
    record.created, record.msecs = 1705409224.044, 44.0
    record.processName, record.threadName = "InputProcess", "AWSsqsPuller(sqs_collector,12345,aws_sqs_vpc,predefined)"
    assert CollectorFormatter().format(record) == (
        "2024-01-16T12:47:04.044    INFO InputProcess::AWSsqsPuller(sqs_collector,12345,aws_sqs_vpc,predefined)"
        " -> Acked message receiptHandle: abc"
    )
