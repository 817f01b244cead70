"""The msgpack codec of what crosses the process boundary."""

from __future__ import annotations

import msgpack
import pytest

from devo_sqs.errors import DecodeError
from devo_sqs.messages import Ack, Batch, decode_acks, decode_batch, encode_acks, encode_batch


def test_batches_round_trip_with_their_tag_groups_and_bytes_messages() -> None:
    batch = Batch(
        batch_id=7, kind="standard", source="s3://b/k", groups=[("a.b", [b"x", "é".encode()]), ("c.d", [b"y"])]
    )
    decoded = decode_batch(encode_batch(batch))
    assert decoded == batch
    assert decoded.record_count == 3


def test_acks_round_trip() -> None:
    acks = [Ack(batch_id=1, spooled=False), Ack(batch_id=2, spooled=True)]
    assert decode_acks(encode_acks(acks)) == acks


@pytest.mark.parametrize(
    "payload", [b"\xc1", msgpack.packb([1, "bogus", "s", []]), msgpack.packb({"a": 1}), msgpack.packb([1, 2])]
)
def test_anything_else_is_a_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_batch(payload)
    with pytest.raises(DecodeError):
        decode_acks(payload if payload != msgpack.packb([1, 2]) else b"\xc1")
