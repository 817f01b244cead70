"""What every sender offers its delivery thread.

A sender frames and writes whole batches and says which of them the receiver acknowledged. Each `send` returns a
mark, an int that grows with every send on the sender (across reconnections); `acknowledged()` returns the highest
mark such that that batch and every one sent before it on the current connection are acknowledged. What
"acknowledged" means is the sender's to say: RELP's per-frame responses, the peer's TCP acknowledgements for plain
syslog, a completed write for the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from devo_sqs.errors import CollectorError
from devo_sqs.messages import TagGroup


class OutputError(CollectorError):
    """Writing to an output failed, or the connection was found broken; what was unacknowledged is sent again."""


class Sender(Protocol):
    description: str  # e.g. "127.0.0.1:6514 (tls)", for log lines
    replays: bool  # True when acknowledged batches may still be lost with the receiver (a replay window helps)

    @property
    def is_open(self) -> bool: ...

    def send(self, groups: Sequence[TagGroup], *, timestamp: bytes) -> int:
        """Frame and write one batch; its mark. Connects when needed. Raises OutputError."""

    def acknowledged(self) -> int:
        """The highest mark acknowledged so far, without waiting. Raises OutputError when the connection broke."""

    def close(self) -> None:
        """Close on our own terms (recycling, stopping): nothing is sent again after a graceful close."""
