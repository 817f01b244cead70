"""RELP frames and the ledger of a session, byte for byte as librelp 1.11 (rsyslog's imrelp) writes them."""

from __future__ import annotations

import pytest

from devo_sqs.output.relp_protocol import (
    TXNR_LIMIT,
    Frame,
    FrameReader,
    Ledger,
    ProtocolError,
    encode_frame,
    open_offers,
    parse_offers,
    syslog_frame,
    txnr_of,
)

# What imrelp answered to our `open` (captured from rsyslogd 8.2302 with librelp 1.11).
OPEN_ANSWER = (
    b"1 rsp 93 200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n"
)


def opened_ledger() -> Ledger:
    ledger = Ledger()
    assert ledger.next_txnr() == 1
    ledger.feed(OPEN_ANSWER)
    return ledger


def test_frames_are_encoded_as_txnr_command_length_data_lf() -> None:
    assert encode_frame(7, b"close") == b"7 close 0\n"
    assert encode_frame(1, b"open", b"relp_version=0") == b"1 open 14 relp_version=0\n"
    assert syslog_frame(2, b"<14>Nov  6 09:01:02 h a.b: ", "café".encode()) == (
        b"2 syslog 32 <14>Nov  6 09:01:02 h a.b: caf\xc3\xa9\n"
    )


def test_open_offers_the_protocol_version_our_software_and_the_syslog_command() -> None:
    assert open_offers("devo-sqs,0.1.0") == b"relp_version=0\nrelp_software=devo-sqs,0.1.0\ncommands=syslog"
    assert parse_offers(OPEN_ANSWER.split(b"200 OK\n", 1)[1]) == {
        "relp_version": ["0"],
        "relp_software": ["librelp", "1.11.0", "http://librelp.adiscon.com"],
        "commands": ["syslog"],
    }


def test_transaction_numbers_wrap_to_1_after_999999999() -> None:
    assert [txnr_of(n) for n in (1, 2, TXNR_LIMIT, TXNR_LIMIT + 1, TXNR_LIMIT + 2)] == [1, 2, TXNR_LIMIT, 1, 2]


def test_the_reader_cuts_frames_however_the_stream_is_chunked() -> None:
    stream = OPEN_ANSWER + b"2 rsp 6 200 OK\n3 rsp 0\n0 serverclose 0\n"
    expected = [
        Frame(1, b"rsp", OPEN_ANSWER[len(b"1 rsp 93 ") : -1]),
        Frame(2, b"rsp", b"200 OK"),
        Frame(3, b"rsp", b""),
        Frame(0, b"serverclose", b""),
    ]
    for size in (1, 2, 7, len(stream)):
        reader = FrameReader()
        frames = [frame for start in range(0, len(stream), size) for frame in reader.feed(stream[start : start + size])]
        assert frames == expected, size
        assert not reader.holds_partial_frame


@pytest.mark.parametrize(
    ("stream", "error"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n", "not a RELP frame: b'HTTP/1.1 400 Bad Request\\r\\n'"),
        (b"2 rsp 6 200 OKX", "frame 2 does not end with LF after its 6 bytes"),
        (b"2 rsp 0 \n", "malformed frame header b'2 rsp 0 '"),
        (b"2 rsp 6\n", "malformed frame header b'2 rsp 6\\n'"),
        (b"2 rsp 999999 x", "frame of 999999 bytes announced (at most 65536 expected)"),
        (b"1234567890 rsp", "not a RELP frame: b'1234567890 rsp'"),
    ],
)
def test_a_stream_that_is_not_relp_is_refused(stream: bytes, error: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        FrameReader().feed(stream)
    assert str(raised.value) == error


def test_a_batch_is_acknowledged_once_every_frame_of_it_and_of_earlier_batches_is_answered() -> None:
    ledger = opened_ledger()
    for mark, frames in ((1, 2), (2, 1), (3, 3)):
        for _ in range(frames):
            ledger.next_txnr()
        ledger.end_batch(mark)
    answers = [b"%d rsp 6 200 OK\n" % txnr for txnr in range(2, 8)]
    progress = []
    for answer in answers:
        ledger.feed(answer)
        progress.append(ledger.acknowledged_mark())
    assert progress == [0, 1, 2, 2, 2, 3]
    assert (ledger.in_flight, ledger.unacknowledged_batches()) == (0, 0)


def test_answers_read_in_bulk_and_in_pieces_acknowledge_the_same() -> None:
    answers = b"".join(b"%d rsp 6 200 OK\n" % txnr for txnr in range(2, 1002))
    for size in (1, 5, 17, 4096, len(answers)):
        ledger = opened_ledger()
        for mark in range(1, 101):
            for _ in range(10):
                ledger.next_txnr()
            ledger.end_batch(mark)
        for start in range(0, len(answers), size):
            ledger.feed(answers[start : start + size])
        assert (ledger.acknowledged_mark(), ledger.in_flight) == (100, 0), size


def test_an_answer_other_than_200_breaks_the_session() -> None:
    ledger = opened_ledger()
    ledger.next_txnr()
    with pytest.raises(ProtocolError) as raised:
        ledger.feed(b"2 rsp 20 500 command disabled\n")
    assert str(raised.value) == "txnr 2 refused: 500 command disabled"


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        (b"3 rsp 6 200 OK\n", "response to txnr 3 out of order (expected 2)"),
        (b"2 rsp 6 200 OK\n2 rsp 6 200 OK\n", "response to txnr 2 out of order (expected 3)"),
        (b"2 rsp 6 200 OK\n3 rsp 6 200 OK\n4 rsp 6 200 OK\n", "response to txnr 4 while every command is answered"),
        (b"2 syslog 1 x\n", "unexpected command b'syslog' with txnr 2 from the server"),
    ],
)
def test_an_answer_out_of_order_or_to_nothing_breaks_the_session(answers: bytes, error: str) -> None:
    ledger = opened_ledger()
    ledger.next_txnr()
    ledger.next_txnr()  # txnr 2 and 3 are in flight
    with pytest.raises(ProtocolError) as raised:
        ledger.feed(answers)
    assert str(raised.value) == error


def test_the_open_answer_must_carry_the_version_and_accept_the_syslog_command() -> None:
    without_syslog = Ledger()
    without_syslog.next_txnr()
    with pytest.raises(ProtocolError) as raised:
        without_syslog.feed(encode_frame(1, b"rsp", b"200 OK\nrelp_version=0\ncommands="))
    assert str(raised.value) == (
        "the server does not accept the syslog command (offers: {'relp_version': ['0'], 'commands': ['']})"
    )
    without_version = Ledger()
    without_version.next_txnr()
    with pytest.raises(ProtocolError, match="no relp_version"):
        without_version.feed(encode_frame(1, b"rsp", b"200 OK\ncommands=syslog"))
    refused = Ledger()
    refused.next_txnr()
    with pytest.raises(ProtocolError) as raised:
        refused.feed(encode_frame(1, b"rsp", b"500 required command not supported by client"))
    assert str(raised.value) == "txnr 1 refused: 500 required command not supported by client"


def test_serverclose_is_a_hint_and_close_is_answered_without_a_status() -> None:
    ledger = opened_ledger()
    ledger.next_txnr()
    ledger.end_batch(1)
    assert ledger.close_txnr() == 3
    ledger.feed(b"2 rsp 6 200 OK\n3 rsp 0\n")
    assert (ledger.acknowledged_mark(), ledger.close_answered, ledger.server_closing) == (1, True, False)
    ledger.feed(b"0 serverclose 0\n")
    assert ledger.server_closing
