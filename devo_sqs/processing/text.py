"""Decompressed chunks -> blocks of whole lines, as valid UTF-8.

Blocks are cut at separator boundaries so no record straddles two blocks; charset conversion and the
count of undecodable bytes happen per block, in C, not per line.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Iterable, Iterator

from devo_sqs.processing.records import ObjectContext

UTF8_BOM = b"\xef\xbb\xbf"
REPLACEMENT = "\ufffd"
ENCODED_REPLACEMENT = REPLACEMENT.encode()
STRADDLE_WINDOW_BYTES = 64 << 10


def line_blocks(
    chunks: Iterable[bytes], ctx: ObjectContext, *, separator: bytes = b"\n", keep_empty: bool = False
) -> Iterator[bytes]:
    """Yield blocks of whole records (separators inside, none at the ends), converted to UTF-8.

    With `keep_empty`, an empty block stands for an empty line between two blocks (CSV values may hold one).

    A record that runs over several chunks is kept as parts and joined once, when it ends (linear time however
    long it is). One longer than `limits.max_record_bytes` is counted as malformed and its bytes are dropped up to
    its end, so one runaway line cannot exhaust memory.
    """
    largest = ctx.limits.max_record_bytes
    reason = f"record longer than limits.max_record_bytes ({largest})"
    open_record = OpenRecord()
    chunks = without_bom(chunks)
    if len(separator) > 1:
        chunks = whole_separators(chunks, separator)
    for chunk in chunks:
        ctx.stats.bytes_read += len(chunk)
        cut = chunk.rfind(separator)
        if cut < 0:
            if (sample := open_record.add(chunk, largest)) is not None:
                ctx.malformed(reason, sample)
            continue
        if (sample := open_record.passes(chunk, separator, largest)) is not None:
            ctx.malformed(reason, sample)
        block = open_record.joined(memoryview(chunk)[:cut]) if open_record.parts else chunk[:cut]
        if open_record.skipping:
            block = block.partition(separator)[2]
        open_record.restart(chunk[cut + len(separator) :])
        if len(block) > largest:  # only then may a line in it be too long
            block = _without_long_lines(block, separator, largest, ctx, reason)
        if block or keep_empty:
            yield to_utf8(block, ctx)
    if open_record.size and not open_record.skipping:
        yield to_utf8(open_record.joined(b""), ctx)


def _without_long_lines(block: bytes, separator: bytes, largest: int, ctx: ObjectContext, reason: str) -> bytes:
    lines = block.split(separator)
    if max(map(len, lines)) <= largest:
        return block
    kept = []
    for line in lines:
        if len(line) <= largest:
            kept.append(line)
        else:
            ctx.malformed(reason, line[:80])
    return separator.join(kept)


class OpenRecord:
    """The record still open at the end of the chunks read so far, as parts (joined once, when it ends)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.skipping = False  # it passed the limit: its bytes are dropped until it ends

    def add(self, chunk: bytes, largest: int) -> bytes | None:
        """Append a chunk without a separator. When this makes the record pass `largest`: its first bytes (for
        the log line), and from then on its bytes are dropped."""
        if self.skipping:
            return None
        self.parts.append(chunk)
        self.size += len(chunk)
        if self.size <= largest:
            return None
        sample = self.parts[0][:80]
        self.parts, self.size, self.skipping = [], 0, True
        return sample

    def passes(self, chunk: bytes, separator: bytes, largest: int) -> bytes | None:
        """When the record ends in `chunk` longer than `largest`: its first bytes, and it is dropped."""
        if self.skipping or not self.size or self.size + chunk.find(separator) <= largest:
            return None
        self.skipping = True
        return self.parts[0][:80]

    def joined(self, end: bytes | memoryview) -> bytes:
        return b"".join([*self.parts, end])

    def restart(self, rest: bytes) -> None:
        self.parts, self.size, self.skipping = ([rest] if rest else []), len(rest), False


def whole_separators(chunks: Iterable[bytes], separator: bytes) -> Iterator[bytes]:
    """The chunks cut anew so that no occurrence of a multi-byte `separator` straddles two of them: each piece
    ends just after a separator, or short of the last bytes that could begin one."""
    keep = len(separator) - 1
    buffer = b""
    for chunk in chunks:
        buffer = buffer + chunk if buffer else chunk
        cut = buffer.rfind(separator)
        if cut >= 0:
            cut += len(separator)
        elif len(buffer) > STRADDLE_WINDOW_BYTES:
            cut = len(buffer) - keep
        else:
            continue
        yield buffer[:cut]
        buffer = buffer[cut:]
    if buffer:
        yield buffer


def counted(chunks: Iterable[bytes], ctx: ObjectContext) -> Iterator[bytes]:
    """The chunks, their bytes counted as read."""
    for chunk in chunks:
        ctx.stats.bytes_read += len(chunk)
        yield chunk


def pieces(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The chunks cut into pieces of at most `size` bytes."""
    for chunk in chunks:
        if len(chunk) <= size:
            yield chunk
            continue
        for start in range(0, len(chunk), size):
            yield chunk[start : start + size]


def to_utf8(data: bytes, ctx: ObjectContext) -> bytes:
    """Return `data` as valid UTF-8: unchanged when it already is, else decoded with replacement."""
    if ctx.charset in ("utf-8", "utf8", "UTF-8"):
        if data.isascii():  # the usual case, checked without building a str
            return data
        try:
            data.decode()
            return data
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
            ctx.stats.replaced_bytes += text.count(REPLACEMENT) - data.count(ENCODED_REPLACEMENT)
            return text.encode()
    text = data.decode(ctx.charset, "replace")
    ctx.stats.replaced_bytes += text.count(REPLACEMENT)
    return text.encode()


def split_lines(block: bytes, separator: bytes = b"\n") -> list[bytes]:
    """The non-empty lines of a block, without CR of CRLF endings."""
    if separator == b"\n" and b"\r" in block:
        block = block.replace(b"\r\n", b"\n").removesuffix(b"\r")
    lines = block.split(separator)
    return lines if all(lines) else [line for line in lines if line]


@functools.cache
def ascii_compatible(charset: str) -> bool:
    """True where ASCII text (and so every line separator) keeps its bytes: latin-1, cp1252, shift_jis, UTF-8;
    False for UTF-16 and UTF-32, whose text must be re-encoded before it can be split into lines."""
    return '\n,{}[]"abc'.encode(charset) == b'\n,{}[]"abc'


def is_utf8(charset: str) -> bool:
    """True for every spelling of UTF-8 (`utf8`, `UTF-8`, `utf_8`, ...)."""
    return codecs.lookup(charset).name == "utf-8"


def without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks without a leading UTF-8 BOM, even one split across the first chunks."""
    iterator = iter(chunks)
    head = b""
    for chunk in iterator:
        head += chunk
        if len(head) >= len(UTF8_BOM) or not UTF8_BOM.startswith(head):
            break
    if head := head.removeprefix(UTF8_BOM):
        yield head
    yield from iterator


def utf8_chunks(chunks: Iterable[bytes], ctx: ObjectContext) -> Iterator[bytes]:
    """The chunks in `ctx.charset` (as it is now) re-encoded as valid UTF-8, streaming: a character split
    between two chunks is decoded whole, undecodable bytes are replaced and counted, a leading BOM is dropped."""
    return _reencoded(chunks, ctx, ctx.charset)


def _reencoded(chunks: Iterable[bytes], ctx: ObjectContext, charset: str) -> Iterator[bytes]:
    utf8 = is_utf8(charset)
    decoder = codecs.getincrementaldecoder("utf-8-sig" if utf8 else charset)("replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        ctx.stats.replaced_bytes += text.count(REPLACEMENT) - (chunk.count(ENCODED_REPLACEMENT) if utf8 else 0)
        if text:
            yield text.encode()
    if tail := decoder.decode(b"", final=True):
        ctx.stats.replaced_bytes += tail.count(REPLACEMENT)
        yield tail.encode()
