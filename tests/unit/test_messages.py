"""The msgpack codec of what crosses the process boundary."""

from __future__ import annotations

import msgpack
import pytest

from devo_sqs.errors import DecodeError
from devo_sqs.messages import (
    Ack,
    Batch,
    Verdict,
    batch_id_of,
    batch_ids,
    decode_acks,
    decode_batch,
    encode_acks,
    encode_batch,
)


def test_batches_round_trip_with_their_tag_groups_and_bytes_messages() -> None:
    batch = Batch(
        batch_id=7, kind="standard", source="s3://b/k", groups=[("a.b", [b"x", "é".encode()]), ("c.d", [b"y"])]
    )
    decoded = decode_batch(encode_batch(batch))
    assert decoded == batch
    assert decoded.record_count == 3


def test_acks_round_trip_with_their_verdicts() -> None:
    acks = [Ack(1, Verdict.DELIVERED), Ack(2, Verdict.SPOOLED), Ack(3, Verdict.FAILED)]
    assert decode_acks(encode_acks(acks)) == acks
    assert [ack.settled for ack in acks] == [True, True, False]


def test_batch_ids_of_two_incarnations_never_meet() -> None:
    first, second = batch_ids(), batch_ids()
    earlier = {next(first) for _ in range(1000)}
    later = {next(second) for _ in range(1000)}
    assert len(earlier) == len(later) == 1000
    assert earlier.isdisjoint(later)
    assert all(0 < batch_id < 2**63 for batch_id in earlier | later)


def test_the_id_of_a_batch_whose_records_are_corrupt_can_still_be_read() -> None:
    payload = encode_batch(Batch(batch_id=(1 << 45) + 7, kind="standard", source="s", groups=[("a.b", [b"x"])]))
    assert batch_id_of(payload[:20] + b"\xc1" * 10) == (1 << 45) + 7
    assert batch_id_of(b"\xc1") is None
    assert batch_id_of(msgpack.packb(["not an id"])) is None


@pytest.mark.parametrize(
    "payload", [b"\xc1", msgpack.packb([1, "bogus", "s", []]), msgpack.packb({"a": 1}), msgpack.packb([1, 2])]
)
def test_anything_else_is_a_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_batch(payload)
    with pytest.raises(DecodeError):
        decode_acks(payload if payload != msgpack.packb([1, 2]) else b"\xc1")
