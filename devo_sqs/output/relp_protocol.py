"""RELP, the Reliable Event Logging Protocol of rsyslog's imrelp, without sockets: frames, offers, and the ledger
that turns the server's in-order responses into acknowledged batches.

A frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. The client numbers its commands 1, 2, 3 ... (wrapping to 1
after 999,999,999); the server answers each with `TXNR rsp LEN 200 OK`, in the order the commands were sent.
Transaction number 0 carries hints, such as the server's `serverclose`.
"""

from __future__ import annotations

import re
from collections import deque
from typing import NamedTuple

TXNR_LIMIT = 999_999_999
HINT_TXNR = 0
RESPONSE_DATA_MAX_BYTES = 64 * 1024  # a status line and offers; more means the stream is not RELP
OK = 200

_HEADER = re.compile(rb"(\d{1,9}) ([A-Za-z]{1,32}) (\d{1,9})([ \n])")
_HEADER_PREFIX = re.compile(rb"\d{0,9}(?: [A-Za-z]{0,32}(?: \d{0,9})?)?")


class ProtocolError(Exception):
    """The server broke the protocol or refused a command: the session cannot go on."""


class Frame(NamedTuple):
    txnr: int
    command: bytes
    data: bytes


def txnr_of(sequence: int) -> int:
    """The transaction number of the `sequence`-th command of a session (counted from 1, never wrapping)."""
    return (sequence - 1) % TXNR_LIMIT + 1


def encode_frame(txnr: int, command: bytes, data: bytes = b"") -> bytes:
    if not data:
        return b"%d %s 0\n" % (txnr, command)
    return b"%d %s %d %s\n" % (txnr, command, len(data), data)


def syslog_frame(txnr: int, header: bytes, message: bytes) -> bytes:
    """One `syslog` command whose data is `header + message` (the header is never empty), joined once."""
    return b"%d syslog %d %s%s\n" % (txnr, len(header) + len(message), header, message)


def open_offers(software: str) -> bytes:
    """The offers of our `open`: protocol version 0 (what librelp speaks), who we are, the one command we use."""
    return b"relp_version=0\nrelp_software=%s\ncommands=syslog" % software.encode()


def parse_offers(data: bytes) -> dict[str, list[str]]:
    """`name=value,value` lines (LF-separated) as a mapping; a name without `=` has no values."""
    offers: dict[str, list[str]] = {}
    for line in data.decode("utf-8", errors="replace").split("\n"):
        if line:
            name, has_values, values = line.partition("=")
            offers[name] = values.split(",") if has_values else []
    return offers


def parse_status(data: bytes) -> tuple[int, str, bytes]:
    """An rsp's data, `CODE [SP TEXT] [LF DATA]`, as (code, text, data); raises ProtocolError on anything else."""
    line, _, rest = data.partition(b"\n")
    code, _, text = line.partition(b" ")
    if len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"response without a status code: {line[:80]!r}")
    return int(code), text.decode("utf-8", errors="replace"), rest


class FrameReader:
    """Cuts the server's byte stream into frames, however the stream is chunked."""

    def __init__(self, *, max_data_bytes: int = RESPONSE_DATA_MAX_BYTES) -> None:
        self._buffer = bytearray()
        self._max_data_bytes = max_data_bytes

    @property
    def holds_partial_frame(self) -> bool:
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Every frame completed by `data`, in order; raises ProtocolError when the stream is not RELP."""
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        position = 0
        while position < len(buffer):
            header = _HEADER.match(buffer, position)
            if header is None:
                self._check_prefix(position)
                break
            txnr, command, length, separator = header.groups()
            size = int(length)
            if size > self._max_data_bytes:
                raise ProtocolError(f"frame of {size} bytes announced (at most {self._max_data_bytes} expected)")
            if (size == 0) != (separator == b"\n"):
                raise ProtocolError(f"malformed frame header {bytes(header.group(0))!r}")
            start = header.end()
            end = start + size
            if size and end >= len(buffer):
                break  # data or trailer still to come
            if size and buffer[end] != 0x0A:
                raise ProtocolError(f"frame {int(txnr)} does not end with LF after its {size} bytes")
            frames.append(Frame(int(txnr), bytes(command), bytes(buffer[start:end])))
            position = end + 1 if size else end
        del buffer[:position]
        return frames

    def _check_prefix(self, position: int) -> None:
        """Incomplete is fine (the rest is still on its way); anything else is garbage."""
        if not _HEADER_PREFIX.fullmatch(self._buffer, position):
            raise ProtocolError(f"not a RELP frame: {bytes(self._buffer[position : position + 40])!r}")


class Ledger:
    """One session's commands, numbered in the order sent, and the batches (by mark) they belong to.

    The server answers in order, so the answered commands are always a prefix of the sent ones: a batch is
    acknowledged once its last frame is answered with 200. A response out of order or not 200 breaks the session.
    The first command is `open`; its answer must accept relp_version and the `syslog` command.
    """

    def __init__(self) -> None:
        self.sent = 0  # commands numbered so far (sequence, not wrapped)
        self.answered = 0  # commands answered, a prefix of the sent ones
        self.server_offers: dict[str, list[str]] | None = None  # set once `open` is answered
        self.server_closing = False  # the server sent the `serverclose` hint
        self._close_sequence = 0  # our `close` command, once sent
        self._batches: deque[tuple[int, int]] = deque()  # (mark, sequence of its last frame), oldest first
        self._acknowledged_mark = 0
        self._reader = FrameReader()

    @property
    def in_flight(self) -> int:
        """Commands sent and not answered yet."""
        return self.sent - self.answered

    @property
    def opened(self) -> bool:
        return self.server_offers is not None

    @property
    def close_answered(self) -> bool:
        return 0 < self._close_sequence <= self.answered

    def next_txnr(self) -> int:
        self.sent += 1
        return txnr_of(self.sent)

    def close_txnr(self) -> int:
        self._close_sequence = self.sent + 1
        return self.next_txnr()

    def end_batch(self, mark: int) -> None:
        """Every frame numbered so far belongs to `mark` or an earlier batch."""
        self._batches.append((mark, self.sent))
        self._settle()

    def unacknowledged_batches(self) -> int:
        return len(self._batches)

    def acknowledged_mark(self) -> int:
        """The newest mark whose batch and all earlier ones are answered (0 when none)."""
        return self._acknowledged_mark

    def feed(self, data: bytes) -> None:
        """Take bytes from the server; raises ProtocolError when they break the session.

        Plain `200 OK` answers to syslog frames, nearly all the traffic, are matched as expected bytes; any other
        frame goes through the FrameReader and `receive`.
        """
        if not self._reader.holds_partial_frame:
            data = self._skip_plain_answers(data)
            self._settle()  # before a later frame may break the session: what was answered counts
        for frame in self._reader.feed(data):
            self.receive(frame)

    def receive(self, frame: Frame) -> None:
        """Take one frame from the server; raises ProtocolError when it breaks the session."""
        if frame.txnr == HINT_TXNR:
            self.server_closing = self.server_closing or frame.command == b"serverclose"
            return  # other hints carry nothing we act on
        if frame.command != b"rsp":
            raise ProtocolError(f"unexpected command {frame.command!r} with txnr {frame.txnr} from the server")
        if self.answered >= self.sent:
            raise ProtocolError(f"response to txnr {frame.txnr} while every command is answered")
        expected = txnr_of(self.answered + 1)
        if frame.txnr != expected:
            raise ProtocolError(f"response to txnr {frame.txnr} out of order (expected {expected})")
        self.answered += 1
        if self.answered == self._close_sequence:
            return  # librelp answers `close` with no status at all
        code, text, rest = parse_status(frame.data)
        if code != OK:
            raise ProtocolError(f"txnr {frame.txnr} refused: {code} {text}")
        if self.answered == 1:
            self._accept_open(rest)
        self._settle()

    def _skip_plain_answers(self, data: bytes) -> bytes:
        position = 0
        answered = self.answered
        last = self.sent if self._close_sequence == 0 else self._close_sequence - 1
        while 1 <= answered < last:  # never `open` (1) nor `close`: their answers carry more
            expected = b"%d rsp 6 200 OK\n" % txnr_of(answered + 1)
            if not data.startswith(expected, position):
                break
            position += len(expected)
            answered += 1
        self.answered = answered
        return data[position:] if position else data

    def _accept_open(self, data: bytes) -> None:
        offers = parse_offers(data)
        if "relp_version" not in offers:
            raise ProtocolError("the server's answer to open has no relp_version")
        if "syslog" not in offers.get("commands", []):
            raise ProtocolError(f"the server does not accept the syslog command (offers: {offers})")
        self.server_offers = offers

    def _settle(self) -> None:
        while self._batches and self._batches[0][1] <= self.answered:
            self._acknowledged_mark = self._batches.popleft()[0]
