"""Byte streams in, decompressed byte chunks out: gzip (multi-member), zstd, bz2, none, or sniffed.

Everything is read in fixed-size chunks, so memory does not grow with the object's size.
"""

from __future__ import annotations

import bz2
import io
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from typing import IO, Any, cast

import zstandard
from isal import igzip

from devo_sqs.errors import PermanentObjectError

CHUNK_BYTES = 1 << 20
MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"BZh", "bz2"), (b"PAR1", "parquet"))
DECODE_ERRORS = (OSError, EOFError, zlib.error, zstandard.ZstdError, ValueError)


class PrefixedReader(io.RawIOBase):
    """A stream whose first bytes were already read (to sniff them), put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(-1 if size is None else size)


def sniff(raw: IO[bytes]) -> tuple[IO[bytes], str]:
    """Detect the encoding from the magic bytes; return a stream that still starts at byte 0."""
    head = raw.read(4)
    encoding = next((name for magic, name in MAGIC if head.startswith(magic)), "none")
    return PrefixedReader(head, raw), encoding  # type: ignore[return-value]


def decompressed_chunks(raw: IO[bytes], encoding: str, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the decompressed content of `raw`. A stream that cannot be decoded raises
    PermanentObjectError, after every chunk that could be decoded was yielded."""
    reader = _decompressor(raw, encoding)
    try:
        while chunk := reader.read(chunk_bytes):
            yield chunk
    except DECODE_ERRORS as exc:
        raise PermanentObjectError(f"cannot decode {encoding} content: {exc}") from exc


def _decompressor(raw: IO[bytes], encoding: str) -> IO[bytes]:
    if encoding == "gzip":
        return cast(IO[bytes], igzip.IGzipFile(fileobj=raw, mode="rb"))  # type: ignore[no-untyped-call]
    if encoding == "zstd":
        return cast(IO[bytes], zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True))
    if encoding == "bz2":
        return bz2.BZ2File(raw)
    return raw


def seekable_copy(raw: IO[bytes], *, directory: str | None = None) -> IO[bytes]:
    """Formats that read from the end (parquet) need a seekable file: copy to a temporary one on disk."""
    spool = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - the caller closes it
    shutil.copyfileobj(raw, spool, CHUNK_BYTES)
    spool.seek(0)
    return spool
