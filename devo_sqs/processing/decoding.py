"""Byte streams in, decompressed byte chunks out: gzip (multi-member), zstd, bz2, none, or sniffed.

Everything is read in fixed-size chunks, so memory does not grow with the object's size.
"""

from __future__ import annotations

import bz2
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from typing import IO, Any, cast

import zstandard
from isal import isal_zlib

from devo_sqs.config.limits import COMPRESSED_READ_BYTES, DECODED_CHUNK_BYTES
from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.zstd_blocks import zstd_pieces
from devo_sqs.streams import WrappedStream

CHUNK_BYTES = DECODED_CHUNK_BYTES
INPUT_BYTES = COMPRESSED_READ_BYTES
GZIP_WBITS = 31  # zlib framing: a gzip header and trailer
MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"BZh", "bz2"), (b"PAR1", "parquet"))
ISAL_ERROR = cast(type[Exception], isal_zlib.error)  # its stub declares an instance
DECODE_ERRORS = (OSError, EOFError, zlib.error, ISAL_ERROR, zstandard.ZstdError, ValueError)


class PrefixedReader(WrappedStream):
    """A stream whose first bytes were already read (to sniff them), put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__(rest)
        self._head = head

    def read(self, size: int | None = -1) -> bytes:
        if not self._head:
            return super().read(size)
        if size is None or size < 0:
            data, self._head = self._head + super().read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data


def sniff(raw: IO[bytes]) -> tuple[IO[bytes], str]:
    """Detect the encoding from the magic bytes; return a stream that still starts at byte 0."""
    head = raw.read(4)
    encoding = next((name for magic, name in MAGIC if head.startswith(magic)), "none")
    return PrefixedReader(head, raw), encoding  # type: ignore[return-value]


def decompressed_chunks(raw: IO[bytes], encoding: str, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the decompressed content of `raw`. A stream that cannot be decoded (corrupt, truncated) raises
    PermanentObjectError, after every chunk that could be decoded was yielded."""
    stream = DECODERS.get(encoding, _plain)(raw, chunk_bytes)
    try:
        yield from stream
    except DECODE_ERRORS as exc:
        raise PermanentObjectError(f"cannot decode {encoding} content: {exc}") from exc


def _plain(raw: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    while chunk := raw.read(chunk_bytes):
        yield chunk


def _gunzip(raw: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """Gzip member after member (Firehose appends one per write); zero padding between or after members is
    skipped, as gzip(1) does. Output is cut at `chunk_bytes`, so a highly compressed member cannot blow up memory."""
    decoder: Any = None
    data, at_end = b"", False
    while True:
        if not data and not at_end:
            data = raw.read(INPUT_BYTES)
            at_end = not data
        if decoder is None:
            if at_end:
                return
            data = data.lstrip(b"\0")
            if not data:
                continue
            decoder = isal_zlib.decompressobj(wbits=GZIP_WBITS)
        chunk = decoder.decompress(data, chunk_bytes)
        if chunk:
            yield chunk
        if decoder.eof:
            data, decoder = decoder.unused_data, None
            continue
        data = decoder.unconsumed_tail
        if at_end and not data and not chunk:
            raise EOFError("gzip stream truncated: it ends inside a member")


def _unzstd(raw: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """Zstandard frame after frame, fed to the decoder one block at a time (zstd_blocks), so one call makes at
    most 128 KiB however the input compresses."""
    context = zstandard.ZstdDecompressor()
    decoder: Any = None
    parts: list[bytes] = []
    size = 0
    try:
        for starts_frame, piece in zstd_pieces(raw, read_bytes=INPUT_BYTES):
            if starts_frame:
                decoder = context.decompressobj()
            if out := decoder.decompress(piece):
                parts.append(out)
                size += len(out)
            if size >= chunk_bytes:
                yield b"".join(parts)
                parts, size = [], 0
    except DECODE_ERRORS:
        if size:
            yield b"".join(parts)  # what precedes the fault is delivered
        raise
    if size:
        yield b"".join(parts)


def _bunzip2(raw: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """Bzip2 stream after stream (pbzip2 and `cat a.bz2 b.bz2` write several)."""
    decoder: Any = None
    data = b""
    while True:
        if not data and (decoder is None or decoder.needs_input):
            data = raw.read(INPUT_BYTES)
            if not data:
                if decoder is not None:
                    raise EOFError("bzip2 stream truncated: it ends inside a stream")
                return
        decoder = decoder or bz2.BZ2Decompressor()
        chunk = decoder.decompress(data, chunk_bytes)
        data = b""
        if chunk:
            yield chunk
        if decoder.eof:
            data, decoder = decoder.unused_data, None


DECODERS = {"gzip": _gunzip, "zstd": _unzstd, "bz2": _bunzip2}


def seekable_copy(raw: IO[bytes], *, directory: str | None = None) -> IO[bytes]:
    """Formats that read from the end (parquet) need a seekable file: copy to a temporary one on disk."""
    spool = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - the caller closes it
    shutil.copyfileobj(raw, spool, CHUNK_BYTES)
    spool.seek(0)
    return spool
