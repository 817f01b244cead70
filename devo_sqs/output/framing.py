"""Syslog frames as Devo's own SDK sends them: `<14>MMM dd HH:MM:SS host tag: message\\n`.

A message with an embedded newline (or every message, with `multiline`) is octet-counted
(`LEN SP FRAME`, RFC 6587) so it still arrives as one event. Whole tag runs are framed with one join.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

PRIORITY = b"<14>"
MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")


def syslog_timestamp(now: float | None = None) -> bytes:
    """RFC 3164 time in UTC, day space-padded: `Nov  6 09:01:02`."""
    t = time.gmtime(now)
    return b"%s %2d %02d:%02d:%02d" % (MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


class Framer:
    """Frames runs of messages for one tag. Keep one per sender; the host name is looked up once."""

    def __init__(self, *, hostname: str | None = None, octet_counting: bool = False) -> None:
        self.host = (hostname or socket.gethostname()).encode()
        self.octet_counting = octet_counting

    def frame_run(self, tag: str, messages: Sequence[bytes], *, timestamp: bytes | None = None) -> bytes:
        """All messages of one tag, framed and concatenated, ready for one socket write."""
        if not messages:
            return b""
        header = self.header(tag, timestamp=timestamp)
        if not self.octet_counting and b"\n" not in b"".join(messages):  # memchr: far cheaper than bytes.count
            return b"".join((header, (b"\n" + header).join(messages), b"\n"))
        size = len(header)
        return b"".join([b"%d %s%s" % (size + len(message), header, message) for message in messages])

    def header(self, tag: str, *, timestamp: bytes | None = None) -> bytes:
        """What precedes every message of `tag`: `<14>MMM dd HH:MM:SS host tag: `."""
        return b"%s%s %s %s: " % (PRIORITY, timestamp or syslog_timestamp(), self.host, tag.encode())
