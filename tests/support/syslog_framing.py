"""Byte stream -> syslog frames -> RFC 3164 fields: the receiver's logic, kept free of sockets and threads.

`FrameSplitter` must not be the bottleneck when a test measures a sender, so it works on whole chunks with
`bytes.find`/`split` and a compiled regex; its Python loop runs once per frame, never once per byte.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

# "<PRI>MMM dd HH:MM:SS host tag: message", day space-padded: the RFC 3164 line the collector writes.
_RFC3164 = re.compile(
    r"<(?P<priority>\d{1,3})>"
    r"(?P<timestamp>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?: [1-9]|[12]\d|3[01])"
    r" (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)"
    r" (?P<host>[^ ]+) (?P<tag>[^ :]+): (?P<message>.*)",
    re.DOTALL,
)
# An LF followed by a digit: where an octet-counted frame may start inside a run of LF-terminated ones.
_OCTET_COUNT_START = re.compile(rb"\n[0-9]")
# "LEN SP": up to 10 digits (a frame under 10 GB) then one space.
_MAX_LENGTH_DIGITS = 10
_MAX_PRIORITY = 191  # facility 23, severity 7


@dataclass(frozen=True, slots=True)
class Frame:
    """One well-formed RFC 3164 message as it arrived."""

    priority: int  # facility * 8 + severity
    timestamp: str  # exactly as sent, e.g. "Nov  6 09:01:02"
    host: str
    tag: str  # without the trailing colon
    message: str  # everything after "tag: ", may contain LFs when octet-counted


def parse_frame(raw: bytes) -> Frame | None:
    """Parse one frame; None when it is not UTF-8 or not RFC 3164 (the caller keeps it as malformed)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    match = _RFC3164.fullmatch(text)
    if match is None:
        return None
    priority, timestamp, host, tag, message = match.groups()
    if int(priority) > _MAX_PRIORITY:
        return None
    return Frame(int(priority), timestamp, host, tag, message)  # positional: this runs per frame


def frame_text(raw: bytes) -> str:
    """Readable text of a raw frame for the malformed list: undecodable bytes become escapes, never errors."""
    return raw.decode("utf-8", errors="backslashreplace")


class FrameSplitter:
    """Splits one connection's byte stream into frames, LF-terminated and octet-counted mixed (RFC 6587).

    A frame that starts with digits then a space is octet-counted (`LEN SP FRAME`); anything else runs to the
    next LF. Bytes of an incomplete frame wait for the next `feed`.
    """

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the frames they complete, in order (without LF or length prefix)."""
        buffer = self._pending + data if self._pending else data
        frames: list[bytes] = []
        position = 0
        while position < len(buffer):
            if buffer[position] in b"0123456789":
                advanced = _take_octet_counted(buffer, position, frames)
            else:
                advanced = _take_lf_terminated(buffer, position, frames)
            if advanced == position:
                break
            position = advanced
        self._pending = buffer[position:]
        return frames

    def finish(self) -> bytes:
        """The bytes of an unfinished frame left when the stream ends (empty if it ended between frames)."""
        pending, self._pending = self._pending, b""
        return pending


def _take_octet_counted(buffer: bytes, position: int, frames: list[bytes]) -> int:
    """Take one `LEN SP FRAME` at `position`; fall back to LF framing when the digits are not a length."""
    space = buffer.find(b" ", position, position + _MAX_LENGTH_DIGITS + 1)
    if space < 0:
        digits_so_far = buffer[position : position + _MAX_LENGTH_DIGITS + 1]
        if len(digits_so_far) <= _MAX_LENGTH_DIGITS and digits_so_far.isdigit():
            return position  # the length prefix is still arriving
        return _take_lf_terminated(buffer, position, frames)
    if not buffer[position:space].isdigit():
        return _take_lf_terminated(buffer, position, frames)
    end = space + 1 + int(buffer[position:space])
    if end > len(buffer):
        return position
    frames.append(buffer[space + 1 : end])
    return end


def _take_lf_terminated(buffer: bytes, position: int, frames: list[bytes]) -> int:
    """Take the complete LF-terminated frames from `position` up to the next one that may be octet-counted."""
    next_octet = _OCTET_COUNT_START.search(buffer, position)
    last_lf = next_octet.start() if next_octet else buffer.rfind(b"\n", position)
    if last_lf < 0:
        return position
    frames.extend(buffer[position:last_lf].split(b"\n"))
    return last_lf + 1


class GzipUnwrapper:
    """Decompresses a byte stream that is one or more concatenated gzip members, chunk by chunk.

    Raises `zlib.error` on bytes that are not gzip.
    """

    def __init__(self) -> None:
        self._decompressor = zlib.decompressobj(wbits=31)
        self._member_started = False

    def feed(self, data: bytes) -> bytes:
        """Return the plain bytes `data` completes; a new member may start right after the previous one."""
        output = [self._decompressor.decompress(data)]
        self._member_started = self._member_started or bool(data)
        while self._decompressor.eof:
            rest = self._decompressor.unused_data
            self._decompressor = zlib.decompressobj(wbits=31)
            self._member_started = bool(rest)
            output.append(self._decompressor.decompress(rest))
        return b"".join(output)

    @property
    def mid_member(self) -> bool:
        """True when the stream stopped inside a gzip member (the sender never finished it)."""
        return self._member_started
