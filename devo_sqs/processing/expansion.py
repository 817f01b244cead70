"""The expansion cap: an object may decode to at most `max_expansion_ratio` times its stored size (at least
`expansion_floor_bytes`), so a decompression bomb fails with one clear line instead of flooding the output."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO

from devo_sqs.config.limits import Limits
from devo_sqs.errors import PermanentObjectError
from devo_sqs.streams import WrappedStream


class CountingReader(WrappedStream):
    """Counts the bytes read: the stored size of an object, when nobody told it."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(raw)
        self.count = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.count += len(data)
        return data


class ExpansionCap:
    """Decoded bytes counted against the stored size (known up front, or the bytes read so far)."""

    def __init__(self, limits: Limits, *, stored_bytes: Callable[[], int]) -> None:
        self._limits = limits
        self._stored_bytes = stored_bytes
        self.decoded = 0

    @property
    def limit(self) -> int:
        """Decoded bytes allowed, as far as the stored size is known now."""
        return self._limits.expansion_limit(self._stored_bytes())

    def add(self, size: int) -> None:
        """Count `size` more decoded bytes; PermanentObjectError past the limit."""
        self.decoded += size
        stored = self._stored_bytes()
        limit = self._limits.expansion_limit(stored)
        if self.decoded > limit:
            raise PermanentObjectError(
                f"decoded past limits.max_expansion_ratio: {self.decoded} bytes from {stored} stored, more than "
                f"{limit} ({self._limits.max_expansion_ratio}x, at least limits.expansion_floor_bytes)"
            )

    def chunks(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """`chunks`, each counted before it is handed on."""
        for chunk in chunks:
            self.add(len(chunk))
            yield chunk
