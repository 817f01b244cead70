"""Syslog framing: LF-terminated RFC 3164 frames, octet counting where a message holds a newline."""

from __future__ import annotations

import calendar

from devo_sqs.output.framing import Framer, syslog_timestamp

STAMP = b"Nov  6 09:01:02"


def test_a_run_of_single_line_messages_becomes_lf_terminated_frames() -> None:
    framed = Framer(hostname="host1").frame_run("my.app.x", [b"first", b"second"], timestamp=STAMP)
    assert framed == b"<14>Nov  6 09:01:02 host1 my.app.x: first\n<14>Nov  6 09:01:02 host1 my.app.x: second\n"


def test_a_message_with_a_newline_makes_the_run_octet_counted() -> None:
    framed = Framer(hostname="h").frame_run("a.b", [b"one\ntwo", b"x"], timestamp=STAMP)
    first = b"<14>Nov  6 09:01:02 h a.b: one\ntwo"
    second = b"<14>Nov  6 09:01:02 h a.b: x"
    assert framed == b"%d %s%d %s" % (len(first), first, len(second), second)


def test_multiline_outputs_octet_count_every_frame_and_lengths_are_bytes() -> None:
    message = "café".encode()
    framed = Framer(hostname="h", octet_counting=True).frame_run("a.b", [message], timestamp=STAMP)
    frame = b"<14>Nov  6 09:01:02 h a.b: " + message
    assert framed == b"%d %s" % (len(frame), frame)
    assert len(frame) == len("<14>Nov  6 09:01:02 h a.b: café") + 1


def test_an_empty_run_frames_to_nothing() -> None:
    assert Framer(hostname="h").frame_run("a.b", []) == b""


def test_timestamps_are_utc_with_a_space_padded_day() -> None:
    assert syslog_timestamp(calendar.timegm((2024, 1, 5, 7, 8, 9))) == b"Jan  5 07:08:09"
    assert syslog_timestamp(calendar.timegm((2024, 12, 25, 23, 59, 0))) == b"Dec 25 23:59:00"


def test_a_message_ending_in_a_newline_makes_the_run_octet_counted_and_empty_messages_stay_frames() -> None:
    framed = Framer(hostname="h").frame_run("a.b", [b"", b"START RequestId: 1\n"], timestamp=STAMP)
    first = b"<14>Nov  6 09:01:02 h a.b: "
    second = b"<14>Nov  6 09:01:02 h a.b: START RequestId: 1\n"
    assert framed == b"%d %s%d %s" % (len(first), first, len(second), second)
    assert Framer(hostname="h").frame_run("a.b", [b"", b"x"], timestamp=STAMP) == first + b"\n" + first + b"x\n"


def test_the_header_is_what_precedes_each_message_of_a_tag() -> None:
    framer = Framer(hostname="host1")
    assert framer.header("my.app.x", timestamp=STAMP) == b"<14>Nov  6 09:01:02 host1 my.app.x: "
    assert framer.frame_run("my.app.x", [b"m"], timestamp=STAMP) == framer.header("my.app.x", timestamp=STAMP) + b"m\n"
