"""Parquet objects (`encoding: parquet`, or a sniffed `PAR1` where honoured): each row is a record, sent as a JSON
object.

Bounded in bytes, not rows: a few hundred bytes of parquet can hold one 1 MiB dictionary value repeated 40,000
times, or a list of a billion zeros. So before a row group is read, the bytes its pages declare and the values
its columns hold must fit the expansion cap; text and binary columns are read dictionary-encoded (a repeated
value stays one value); the size each row's values take is computed from the column data (parquet_sizes, no
Python objects), and rows become records `parquet_slice_bytes` at a time. A row larger than `max_record_bytes` is
malformed; every row counts against the expansion cap. Batches are read with buffered column reads (no
pre-buffering of whole row groups, no reader threads).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.expansion import ExpansionCap
from devo_sqs.processing.processors.base import json_default, json_records
from devo_sqs.processing.processors.parquet_sizes import largest_row, row_sizes
from devo_sqs.processing.processors.parquet_values import jsonable
from devo_sqs.processing.records import ObjectContext, Records

ROWS_PER_BATCH = 1024  # at ~350 bytes a row (VPC flow), a batch fits parquet_slice_bytes whole
READ_BUFFER_BYTES = 1 << 20
MATERIALIZED_VALUE_BYTES = 8  # the least a value read into memory takes


def parquet_records(seekable: IO[bytes], ctx: ObjectContext, *, cap: ExpansionCap) -> Iterator[Records]:
    try:
        metadata = pq.ParquetFile(seekable).metadata
        reader = pq.ParquetFile(
            seekable, pre_buffer=False, buffer_size=READ_BUFFER_BYTES, read_dictionary=_byte_array_columns(metadata)
        )
        dictionaries: dict[tuple[int, int, int], int] = {}
        for index in range(metadata.num_row_groups):
            _check_declared(metadata.row_group(index), index, cap)
            for batch in reader.iter_batches(batch_size=ROWS_PER_BATCH, row_groups=[index], use_threads=False):
                yield from _slices(batch, ctx, cap, dictionaries)
    except (pa.ArrowException, OSError) as exc:
        raise PermanentObjectError(f"cannot read parquet content: {exc}") from exc


def _byte_array_columns(metadata: pq.FileMetaData) -> list[str]:
    """Paths of the text and binary columns (nested ones included), to be read as dictionaries."""
    schema = metadata.schema
    return [schema.column(i).path for i in range(len(schema)) if schema.column(i).physical_type == "BYTE_ARRAY"]


def _check_declared(row_group: pq.RowGroupMetaData, index: int, cap: ExpansionCap) -> None:
    """A row group whose pages decompress, or whose values materialize, past the expansion cap fails unread."""
    columns = [row_group.column(j) for j in range(row_group.num_columns)]
    pages = sum(column.total_uncompressed_size for column in columns)
    values = sum(column.num_values for column in columns) * MATERIALIZED_VALUE_BYTES
    for what, size in (("uncompressed page bytes", pages), ("bytes of values", values)):
        if size > cap.limit:
            raise PermanentObjectError(
                f"parquet row group {index} declares {size} {what}: past limits.max_expansion_ratio "
                f"(at most {cap.limit} bytes for this object)"
            )


def _slices(
    batch: pa.RecordBatch, ctx: ObjectContext, cap: ExpansionCap, dictionaries: dict[tuple[int, int, int], int]
) -> Iterator[Records]:
    """The batch's rows as records, at most `parquet_slice_bytes` of values at a time; oversized rows skipped."""
    limits = ctx.limits
    bound = largest_row(batch, dictionaries)
    if bound is not None and bound <= limits.max_record_bytes and bound * batch.num_rows <= limits.parquet_slice_bytes:
        yield _records(batch, ctx, cap)  # no row can be too large, nor all of them together
        return
    sizes = row_sizes(batch)
    if sizes.total <= limits.parquet_slice_bytes and sizes.largest <= limits.max_record_bytes:
        yield _records(batch, ctx, cap)
        return
    start = taken = 0
    for row, size in enumerate(sizes.each()):
        if size > limits.max_record_bytes:
            yield from _nonempty(batch.slice(start, row - start), ctx, cap)
            cap.add(size)
            ctx.malformed(f"parquet row {row} of a batch: {size} bytes, more than limits.max_record_bytes")
            start, taken = row + 1, 0
        elif taken + size > limits.parquet_slice_bytes and row > start:
            yield from _nonempty(batch.slice(start, row - start), ctx, cap)
            start, taken = row, size
        else:
            taken += size
    yield from _nonempty(batch.slice(start), ctx, cap)


def _nonempty(rows: pa.RecordBatch, ctx: ObjectContext, cap: ExpansionCap) -> Iterator[Records]:
    if rows.num_rows:
        yield _records(rows, ctx, cap)


def _records(rows: pa.RecordBatch, ctx: ObjectContext, cap: ExpansionCap) -> Records:
    records = json_records(jsonable(rows).to_pylist(), ctx, default=json_default)
    made = sum(map(len, records.messages))
    ctx.stats.bytes_read += made
    cap.add(made)
    return records
