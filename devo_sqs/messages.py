"""What crosses the process boundary: record batches one way, acknowledgements back.

Both travel as msgpack bytes over multiprocessing queues; `decode_*` raise `DecodeError` on anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgpack

from devo_sqs.errors import DecodeError

Kind = Literal["standard", "lookup", "internal"]
KINDS: tuple[Kind, ...] = ("standard", "lookup", "internal")

TagGroup = tuple[str, list[bytes]]


@dataclass(frozen=True, slots=True)
class Batch:
    """Records bound for one sender manager, grouped by Devo tag (order kept inside each tag)."""

    batch_id: int  # unique within one InputProcess run; acknowledgements name it
    kind: Kind  # which sender manager delivers it
    source: str  # where the records came from (s3://bucket/key or a description), for logs
    groups: list[TagGroup]  # (tag, [message, ...]); messages are UTF-8 bytes without framing

    @property
    def record_count(self) -> int:
        return sum(len(messages) for _, messages in self.groups)


@dataclass(frozen=True, slots=True)
class Ack:
    """The output side's verdict on one batch: delivered to every output, or spooled to disk."""

    batch_id: int  # the Batch acknowledged
    spooled: bool  # True when the batch is safe in emergency persistence rather than delivered


def encode_batch(batch: Batch) -> bytes:
    payload: bytes = msgpack.packb((batch.batch_id, batch.kind, batch.source, batch.groups), use_bin_type=True)
    return payload


def decode_batch(payload: bytes) -> Batch:
    try:
        batch_id, kind, source, groups = msgpack.unpackb(payload, raw=False, use_list=True)
        if kind not in KINDS:
            raise ValueError(f"unknown batch kind {kind!r}")
        return Batch(batch_id=batch_id, kind=kind, source=source, groups=[(tag, msgs) for tag, msgs in groups])
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise DecodeError(f"not a record batch: {exc}") from exc


def encode_acks(acks: list[Ack]) -> bytes:
    payload: bytes = msgpack.packb([(ack.batch_id, ack.spooled) for ack in acks])
    return payload


def decode_acks(payload: bytes) -> list[Ack]:
    try:
        return [Ack(batch_id=batch_id, spooled=bool(spooled)) for batch_id, spooled in msgpack.unpackb(payload)]
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise DecodeError(f"not an acknowledgement list: {exc}") from exc
