"""What every sender offers its delivery thread."""

from __future__ import annotations

from typing import Protocol

from devo_sqs.errors import CollectorError


class OutputError(CollectorError):
    """Writing to an output failed, or the connection was found dead; what was unconfirmed is resent."""


class Sender(Protocol):
    description: str  # e.g. "127.0.0.1:6514 (tls)", for log lines

    @property
    def is_open(self) -> bool: ...

    def write(self, payload: bytes) -> None:
        """Write framed events; raise OutputError when the output cannot take them."""

    def check_alive(self) -> None:
        """Raise OutputError when the peer closed or rejected the connection since the last write."""

    def close(self) -> None: ...
