"""Parquet columns made ready to become Python values and JSON: dictionary-encoded columns decoded (they are read
as dictionaries to bound memory, see parquet.py), and timestamps, times and durations as ISO 8601 text
(nanoseconds kept), nested ones included: Python's datetime stops at microseconds, and pyarrow refuses to round a
nanosecond away. Decimals and binary are converted as JSON is written (base.json_default)."""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc

from devo_sqs.processing.processors.base import seconds_text

FRACTION_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


def jsonable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch without dictionaries, with its timestamps, times and durations as ISO 8601 text."""
    if not any(_converts(column.type) for column in batch.columns):
        return batch
    return pa.RecordBatch.from_arrays([_converted(column) for column in batch.columns], names=batch.schema.names)


@functools.cache
def _converts(kind: pa.DataType) -> bool:
    if pa.types.is_timestamp(kind) or pa.types.is_time(kind) or pa.types.is_duration(kind):
        return True
    if pa.types.is_dictionary(kind):
        return True
    if pa.types.is_map(kind):
        return _converts(kind.key_type) or _converts(kind.item_type)
    return any(_converts(kind.field(i).type) for i in range(kind.num_fields))


def _converted(array: pa.Array) -> pa.Array:
    kind = array.type
    if not _converts(kind):
        return array
    if pa.types.is_timestamp(kind):
        return pc.strftime(array, format="%Y-%m-%dT%H:%M:%S" + ("%Ez" if kind.tz else ""))
    if pa.types.is_time(kind):
        return array.cast(pa.string())
    if pa.types.is_duration(kind):
        digits = FRACTION_DIGITS[kind.unit]
        counts = array.cast(pa.int64()).to_pylist()
        return pa.array([None if n is None else iso_duration(n, digits) for n in counts], pa.string())
    if pa.types.is_dictionary(kind):
        return _converted(array.dictionary_decode())
    return _nested(array)


def iso_duration(count: int, digits: int) -> str:
    """`count` units of 10**-digits seconds as an ISO 8601 duration: (-1500, 3) -> `-PT1.500S`."""
    return f"{'-' if count < 0 else ''}PT{seconds_text(abs(count), digits)}S"


def _nested(array: pa.Array) -> pa.Array:
    kind = array.type
    mask = array.is_null() if array.null_count else None
    if pa.types.is_struct(kind):
        children = [_converted(child) for child in array.flatten()]
        fields = [pa.field(field.name, child.type) for field, child in zip(kind, children, strict=True)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
    if pa.types.is_map(kind):
        return pa.MapArray.from_arrays(array.offsets, _converted(array.keys), _converted(array.items), mask=mask)
    if pa.types.is_large_list(kind):
        return pa.LargeListArray.from_arrays(array.offsets, _converted(array.values), mask=mask)
    if pa.types.is_fixed_size_list(kind):
        return pa.FixedSizeListArray.from_arrays(_converted(array.flatten()), kind.list_size, mask=mask)
    return pa.ListArray.from_arrays(array.offsets, _converted(array.values), mask=mask)
