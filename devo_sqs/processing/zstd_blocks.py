"""Zstandard streams cut at block boundaries, so that each decoder call regenerates at most one block (128 KiB).

python-zstandard's decompressobj has no output limit, and a block of 4 bytes (RLE) regenerates 128 KiB: fed
freely, a few KiB of input would make hundreds of MiB in one call. Walking the frame format (RFC 8878) costs a few
steps per block and also tells a stream that ends inside a frame from one that ends between frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

ZSTD_MAGIC = 0xFD2FB528
SKIPPABLE_MAGIC = 0x184D2A50  # the low 4 bits are free
RLE_BLOCK = 1
RESERVED_BLOCK = 3
FCS_FIELD_BYTES = (0, 2, 4, 8)  # by Frame_Content_Size_flag; flag 0 with a single segment means 1 byte
DICTIONARY_ID_BYTES = (0, 1, 2, 4)
CHECKSUM_BYTES = 4


class _Input:
    """Exact-size reads over a stream read in large pieces."""

    def __init__(self, raw: IO[bytes], read_bytes: int) -> None:
        self._raw = raw
        self._read_bytes = read_bytes
        self._data = b""
        self._at = 0

    def at_end(self) -> bool:
        if self._at < len(self._data):
            return False
        self._data, self._at = self._raw.read(self._read_bytes), 0
        return not self._data

    def take(self, size: int) -> bytes:
        parts: list[bytes] = []
        while size:
            if self.at_end():
                raise EOFError("zstd stream truncated: it ends inside a frame")
            part = self._data[self._at : self._at + size]
            self._at += len(part)
            size -= len(part)
            parts.append(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)


def zstd_pieces(raw: IO[bytes], *, read_bytes: int) -> Iterator[tuple[bool, bytes]]:
    """(starts a frame, piece): a frame's header with its first block, then each further block, then its
    checksum. Skippable frames are dropped. Raises EOFError inside a frame, ValueError on what is not zstd."""
    source = _Input(raw, read_bytes)
    while not source.at_end():
        magic_bytes = source.take(4)
        magic = int.from_bytes(magic_bytes, "little")
        if magic & 0xFFFFFFF0 == SKIPPABLE_MAGIC:
            source.take(int.from_bytes(source.take(4), "little"))
            continue
        if magic != ZSTD_MAGIC:
            raise ValueError(f"not a zstd frame (magic {magic_bytes.hex()})")
        yield from _frame(magic_bytes, source)


def _frame(magic_bytes: bytes, source: _Input) -> Iterator[tuple[bool, bytes]]:
    descriptor = source.take(1)
    flags = descriptor[0]
    single_segment = flags >> 5 & 1
    fcs_flag = flags >> 6
    header_bytes = (
        (0 if single_segment else 1) + DICTIONARY_ID_BYTES[flags & 3] + (FCS_FIELD_BYTES[fcs_flag] or single_segment)
    )
    head = magic_bytes + descriptor + source.take(header_bytes)
    starts = True
    last = False
    while not last:
        block_header = source.take(3)
        value = int.from_bytes(block_header, "little")
        last, kind, size = bool(value & 1), value >> 1 & 3, value >> 3
        if kind == RESERVED_BLOCK:
            raise ValueError("zstd block of the reserved type")
        piece = block_header + source.take(1 if kind == RLE_BLOCK else size)
        yield starts, head + piece if starts else piece
        starts, head = False, b""
    if flags >> 2 & 1:
        yield False, source.take(CHECKSUM_BYTES)
