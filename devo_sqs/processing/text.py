"""Decompressed chunks -> blocks of whole lines, as valid UTF-8.

Blocks are cut at separator boundaries so no record straddles two blocks; charset conversion and the
count of undecodable bytes happen per block, in C, not per line.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Iterable, Iterator

from devo_sqs.processing.records import ObjectContext

MAX_RECORD_BYTES = 64 << 20
UTF8_BOM = b"\xef\xbb\xbf"
REPLACEMENT = "\ufffd"
ENCODED_REPLACEMENT = REPLACEMENT.encode()


def line_blocks(
    chunks: Iterable[bytes], ctx: ObjectContext, *, separator: bytes = b"\n", keep_empty: bool = False
) -> Iterator[bytes]:
    """Yield blocks of whole records (separators inside, none at the ends), converted to UTF-8.

    With `keep_empty`, an empty block stands for an empty line between two blocks (CSV values may hold one).

    A record longer than MAX_RECORD_BYTES is counted as malformed and skipped, so one runaway line cannot
    exhaust memory.
    """
    carry = b""
    skipping = False
    for chunk in without_bom(chunks):
        ctx.stats.bytes_read += len(chunk)
        cut = chunk.rfind(separator)
        if cut < 0:
            carry += chunk
            if len(carry) > MAX_RECORD_BYTES:
                ctx.malformed(f"record longer than {MAX_RECORD_BYTES} bytes", carry[:80])
                carry, skipping = b"", True
            continue
        block = carry + memoryview(chunk)[:cut] if carry else chunk[:cut]  # one copy, not a slice and a concat
        carry = chunk[cut + len(separator) :]
        if skipping:
            block, skipping = block.partition(separator)[2], False
        if block or keep_empty:
            yield to_utf8(block, ctx)
    if carry and not skipping:
        yield to_utf8(carry, ctx)


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
