"""Decompressed chunks -> blocks of whole lines, as valid UTF-8.

Blocks are cut at separator boundaries so no record straddles two blocks; charset conversion and the
count of undecodable bytes happen per block, in C, not per line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from devo_sqs.processing.records import ObjectContext

MAX_RECORD_BYTES = 64 << 20
UTF8_BOM = b"\xef\xbb\xbf"
REPLACEMENT = "\ufffd"
ENCODED_REPLACEMENT = REPLACEMENT.encode()


def line_blocks(chunks: Iterable[bytes], ctx: ObjectContext, *, separator: bytes = b"\n") -> Iterator[bytes]:
    """Yield blocks of whole records (separators inside, none at the ends), converted to UTF-8.

    A record longer than MAX_RECORD_BYTES is counted as malformed and skipped, so one runaway line cannot
    exhaust memory.
    """
    carry = b""
    skipping = False
    first = True
    for chunk in chunks:
        ctx.stats.bytes_read += len(chunk)
        if first:
            chunk, first = chunk.removeprefix(UTF8_BOM), False
        cut = chunk.rfind(separator)
        if cut < 0:
            carry += chunk
            if len(carry) > MAX_RECORD_BYTES:
                ctx.malformed(f"record longer than {MAX_RECORD_BYTES} bytes", carry[:80])
                carry, skipping = b"", True
            continue
        block = carry + chunk[:cut] if carry else chunk[:cut]
        carry = chunk[cut + len(separator) :]
        if skipping:
            block, skipping = block.partition(separator)[2], False
        if block:
            yield to_utf8(block, ctx)
    if carry and not skipping:
        yield to_utf8(carry, ctx)


def to_utf8(data: bytes, ctx: ObjectContext) -> bytes:
    """Return `data` as valid UTF-8: unchanged when it already is, else decoded with replacement."""
    if ctx.charset in ("utf-8", "utf8", "UTF-8"):
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
