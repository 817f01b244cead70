"""Objects someone who can write into the bucket may put there, written to files with little memory and time:
each is small as stored and huge, or endless, as decoded."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

MIB = 1 << 20
GOOD_CLOUDTRAIL_RECORD = {
    "eventVersion": "1.08",
    "eventTime": "2024-01-16T12:47:04Z",
    "eventSource": "s3.amazonaws.com",
    "eventName": "GetObject",
    "awsRegion": "eu-west-1",
    "recipientAccountId": "123456789012",
}


def parquet_dictionary_bomb(path: Path, *, value_bytes: int = MIB, rows: int = 40_000) -> Path:
    """A few hundred bytes of parquet: one text column whose dictionary holds one value, `rows` times."""
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * value_bytes]))
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": column}), sink, compression="zstd", store_schema=False)
    path.write_bytes(sink.getvalue())
    return path


def cloudtrail_with_a_huge_record(path: Path, *, record_bytes: int = 600 * MIB) -> Path:
    """A gzip CloudTrail document of ~600 KB: a good record, then one of `record_bytes`, then a good one."""
    good = orjson.dumps(GOOD_CLOUDTRAIL_RECORD)
    block = b"x" * MIB
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b'{"Records":[' + good + b',{"eventName":"Huge","requestParameters":{"data":"')
        for _ in range(record_bytes // MIB):
            out.write(block)
        out.write(b'"}},' + good + b"]}")
    return path


def empty_objects_on_one_line(path: Path, *, line_bytes: int = 30 * MIB) -> Path:
    """`{}` back to back on one line, gzipped (30 MB to ~30 KB)."""
    block = b"{}" * (MIB // 2)
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(line_bytes // MIB):
            out.write(block)
        out.write(b"\n")
    return path


def zeros_without_newline(path: Path, *, size: int = 1 << 30) -> Path:
    """`size` zero bytes and no newline, gzipped (1 GiB to ~1 MB)."""
    block = bytes(8 * MIB)
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(size // len(block)):
            out.write(block)
    return path
