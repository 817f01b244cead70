"""Parquet values JSON has no type for, converted instead of dropped: a decimal is a JSON number with every digit
kept, binary is base64, a timestamp, time or duration is ISO 8601 text (nanoseconds kept).

Timestamps, times and durations are converted on the arrow columns (nested ones included) before rows become
Python values: Python's datetime stops at microseconds, and pyarrow refuses to round a nanosecond away.
"""

from __future__ import annotations

import functools

import pyarrow as pa
import pyarrow.compute as pc

from devo_sqs.processing.processors.base import seconds_text

FRACTION_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


def jsonable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with its timestamps, times and durations as ISO 8601 text; unchanged when it has none."""
    if not any(_has_temporal(column.type) for column in batch.columns):
        return batch
    return pa.RecordBatch.from_arrays([_converted(column) for column in batch.columns], names=batch.schema.names)


@functools.cache
def _has_temporal(kind: pa.DataType) -> bool:
    if pa.types.is_timestamp(kind) or pa.types.is_time(kind) or pa.types.is_duration(kind):
        return True
    if pa.types.is_dictionary(kind):
        return _has_temporal(kind.value_type)
    if pa.types.is_map(kind):
        return _has_temporal(kind.key_type) or _has_temporal(kind.item_type)
    return any(_has_temporal(kind.field(i).type) for i in range(kind.num_fields))


def _converted(array: pa.Array) -> pa.Array:
    kind = array.type
    if not _has_temporal(kind):
        return array
    if pa.types.is_timestamp(kind):
        return pc.strftime(array, format="%Y-%m-%dT%H:%M:%S" + ("%Ez" if kind.tz else ""))
    if pa.types.is_time(kind):
        return array.cast(pa.string())
    if pa.types.is_duration(kind):
        digits = FRACTION_DIGITS[kind.unit]
        counts = array.cast(pa.int64()).to_pylist()
        return pa.array([None if n is None else f"PT{seconds_text(n, digits)}S" for n in counts], pa.string())
    if pa.types.is_dictionary(kind):
        return _converted(array.dictionary_decode())
    return _nested(array)


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
