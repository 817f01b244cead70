"""What crosses boundaries: record batches one way and acknowledgements back between the processes (msgpack bytes
over multiprocessing queues; `decode_*` raise `DecodeError` on anything else), and the S3 object references that
ingest hands to persistence.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import msgpack

from devo_sqs.errors import DecodeError

Kind = Literal["standard", "lookup", "internal"]
KINDS: tuple[Kind, ...] = ("standard", "lookup", "internal")

TagGroup = tuple[str, list[bytes]]


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """An S3 object as a notification announces it."""

    bucket: str
    key: str  # decoded: exactly as stored in S3
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    raw_key: str | None = None  # the key as the notification spelled it, tried when the decoded one is missing


@dataclass(frozen=True, slots=True)
class ObjectIdentity:
    """An S3 object as its GET returned it: which content the records of a checkpoint come from. Notifications
    may name no content at all (FDR, AWS Config) or an older one than the object now holds."""

    bucket: str
    key: str  # the key that was read
    size: int  # ContentLength
    etag: str | None  # without quotes; S3 always sends one
    version_id: str | None = None  # set in a versioned bucket
    last_modified: str | None = None  # ISO 8601, for a store that sends neither ETag nor version id

    @property
    def content(self) -> str:
        """The content, by ETag and size where the ETag is known (in a versioned bucket too: the same bytes under
        another version id, as a copy or a listing-based notification finds them, are the same records)."""
        if self.etag:
            return f"etag={self.etag} size={self.size}"
        if self.version_id:
            return f"version={self.version_id} size={self.size}"
        return f"modified={self.last_modified} size={self.size}"


@dataclass(frozen=True, slots=True)
class Batch:
    """Records bound for one sender manager, grouped by Devo tag (order kept inside each tag)."""

    batch_id: int  # unique across runs and restarts of the InputProcess (see `batch_ids`); acknowledgements name it
    kind: Kind  # which sender manager delivers it
    source: str  # where the records came from (s3://bucket/key or a description), for logs
    groups: list[TagGroup]  # (tag, [message, ...]); messages are UTF-8 bytes without framing

    @property
    def record_count(self) -> int:
        return sum(len(messages) for _, messages in self.groups)

    @property
    def size_bytes(self) -> int:
        """Bytes of the messages (framing aside)."""
        return sum(sum(map(len, messages)) for _, messages in self.groups)


def batch_ids() -> Iterator[int]:
    """Ids for one incarnation of the InputProcess: a random prefix above a counter, so that an acknowledgement from
    an earlier incarnation can never settle a batch of this one."""
    return itertools.count((secrets.randbits(23) << 40) + 1)


class Verdict(IntEnum):
    DELIVERED = 0  # every output confirmed it
    SPOOLED = 1  # safe in emergency persistence (of at least one output), confirmed by the others
    FAILED = 2  # an output could neither deliver nor spool it: its message is to be collected again


@dataclass(frozen=True, slots=True)
class Ack:
    """The output side's verdict on one batch."""

    batch_id: int  # the Batch acknowledged
    verdict: Verdict

    @property
    def settled(self) -> bool:
        """Delivered or spooled: safe."""
        return self.verdict is not Verdict.FAILED


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


def batch_id_of(payload: bytes) -> int | None:
    """The id of an encoded batch whose rest cannot be decoded (so it can still be failed by name)."""
    try:
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(payload[:64])
        if unpacker.read_array_header() >= 1:
            batch_id = unpacker.unpack()
            return batch_id if isinstance(batch_id, int) else None
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.OutOfData):
        return None
    return None


def encode_acks(acks: list[Ack]) -> bytes:
    payload: bytes = msgpack.packb([(ack.batch_id, int(ack.verdict)) for ack in acks])
    return payload


def decode_acks(payload: bytes) -> list[Ack]:
    try:
        return [Ack(batch_id=batch_id, verdict=Verdict(verdict)) for batch_id, verdict in msgpack.unpackb(payload)]
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise DecodeError(f"not an acknowledgement list: {exc}") from exc
