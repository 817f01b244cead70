"""Read-only byte streams that wrap another stream and change how it reads (put back sniffed bytes, hash,
translate network errors). Subclasses implement `read`; file-like consumers (gzip, zstd, parquet) get the rest."""

from __future__ import annotations

import io
from typing import IO, Any


class WrappedStream(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._raw.read(-1 if size is None else size)
        return data

    def close(self) -> None:
        self._raw.close()
        super().close()
