"""A JSON document read as text that arrives chunk by chunk: where a value ends, and its text kept only up to a
size, so that walking past a 600 MB value costs a scan, not the memory to hold it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.processors.json_stream import BACKSLASH, OPENERS, QUOTE, SPACE, STRUCTURE, string_end

SCALAR_END = re.compile(rb"[ \t\r\n,\]}]")


class TextStream:
    """The document's text, read chunk by chunk; `text[position:]` is what is not consumed yet."""

    def __init__(self, head: list[bytes], rest: Iterator[bytes]) -> None:
        self._head = head  # chunks already read to tell the document is big; emptied as read
        self._rest = rest
        self.text = b""
        self.position = 0

    def more(self) -> bool:
        """Append the next chunk to what is not consumed yet; False at the end of the document."""
        chunk: bytes | None = b""
        while not chunk:
            chunk = self._head.pop(0) if self._head else next(self._rest, None)
            if chunk is None:
                return False
        self.text = self.text[self.position :] + chunk
        self.position = 0
        return True

    def next_byte(self) -> int | None:
        """The next byte that is not whitespace (not consumed), or None at the end of the document."""
        while True:
            self.position = SPACE.match(self.text, self.position).end()  # type: ignore[union-attr]
            if self.position < len(self.text):
                return self.text[self.position]
            if not self.more():
                return None

    def expect(self, byte: int, what: str) -> None:
        if self.next_byte() != byte:
            raise not_json(f"{what} expected")
        self.position += 1

    def window(self, size: int) -> None:
        """Read on until `size` bytes are unconsumed, or the document ends."""
        while len(self.text) - self.position < size and self.more():
            pass


class ValueScanner:
    """Where one JSON value ends, over text that arrives in pieces; it keeps no text itself."""

    def __init__(self) -> None:
        self.depth = 0
        self.started = False
        self.scalar = False
        self.in_string = False
        self.escaped = False  # the piece ended inside a string on an unpaired backslash

    def scan(self, text: bytes, position: int) -> int | None:
        """The offset just past the value's end, scanning `text` from `position`; None when it goes on."""
        if not self.started:
            self.started = True
            self.scalar = text[position] not in OPENERS and text[position] != QUOTE
        if self.scalar:
            stop = SCALAR_END.search(text, position)
            return stop.start() if stop else None
        while True:
            if self.in_string:
                position = self._string_end(text, position)
                if position < 0:
                    return None
                if self.depth == 0:
                    return position
                continue
            found = STRUCTURE.search(text, position)
            if found is None:
                return None
            position = found.end()
            char = text[found.start()]
            if char == QUOTE:
                self.in_string = True
                continue
            self.depth += 1 if char in OPENERS else -1
            if self.depth == 0:
                return position

    def _string_end(self, text: bytes, position: int) -> int:
        """Just past the closing quote, or -1 when the string goes on past `text`."""
        if self.escaped:
            self.escaped, position = False, position + 1
        closed = string_end(text, position)
        if closed >= 0:
            self.in_string = False
            return closed
        end = len(text)
        while end > position and text[end - 1] == BACKSLASH:
            end -= 1
        self.escaped = (len(text) - end) % 2 == 1
        return -1

    def at_end_of_document(self) -> bool:
        """A bare scalar may end where the document ends."""
        return self.scalar


def read_value(stream: TextStream, *, keep: int) -> bytes | None:
    """The text of the value at the stream's position, consumed; None when it is longer than `keep` (its text
    is dropped as it is read)."""
    if stream.next_byte() is None:
        raise not_json("the document ends where a value was expected")
    scanner = ValueScanner()
    parts: list[bytes] = []
    size = 0
    start = stream.position
    while True:
        end = scanner.scan(stream.text, start)
        stop = len(stream.text) if end is None else end
        size += stop - start
        if size <= keep:
            parts.append(stream.text[start:stop])
        stream.position = stop
        if end is None and not stream.more():
            if not scanner.at_end_of_document():
                raise not_json("the document ends inside a value")
            end = stop
        if end is not None:
            return b"".join(parts) if size <= keep else None
        start = stream.position


def not_json(reason: str) -> PermanentObjectError:
    return PermanentObjectError(f"not a JSON document: {reason}")
