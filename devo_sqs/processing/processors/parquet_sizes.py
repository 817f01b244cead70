"""How many bytes each row of a parquet batch takes as JSON, computed on the arrow columns (no Python objects),
so rows can be sliced by bytes before they are made into Python values. A dictionary value counts in every row
that refers to it. Sizes are close upper bounds of the JSON text, not exact (escapes are not counted)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

KEY_BYTES = 4  # `"name":` and a comma around a key
QUOTED_BYTES = 3  # `""` and a comma around a string
SCALAR_BYTES = 24  # a number or a boolean as JSON text, at most about this
TEMPORAL_BYTES = 40  # an ISO 8601 date, time, timestamp or duration
NULL_BYTES = 5

Sizes: TypeAlias = Any  # an int (every value takes at most this) or an int64 pa.Array (one size per value)


@dataclass(frozen=True)
class RowSizes:
    fixed: int  # bytes every row takes
    variable: pa.Array | None  # more bytes, per row
    rows: int

    @functools.cached_property
    def total(self) -> int:
        extra = 0 if self.variable is None else pc.sum(self.variable).as_py() or 0
        return int(self.fixed * self.rows + extra)

    @functools.cached_property
    def largest(self) -> int:
        extra = 0 if self.variable is None else pc.max(self.variable).as_py() or 0
        return int(self.fixed + extra)

    def each(self) -> list[int]:
        if self.variable is None:
            return [self.fixed] * self.rows
        return [self.fixed + size for size in self.variable.to_pylist()]


def largest_row(batch: pa.RecordBatch, dictionaries: dict[tuple[int, int, int], int]) -> int | None:
    """A cheap upper bound of any row's size, from each column's largest value; None when a column's values
    vary in count (lists, maps). `dictionaries` remembers the largest value of each dictionary seen."""
    total = 2
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        largest = _largest_value(column, dictionaries)
        if largest is None:
            return None
        total += len(name.encode()) + KEY_BYTES + largest
    return total


def _largest_value(array: pa.Array, dictionaries: dict[tuple[int, int, int], int]) -> int | None:
    kind = array.type
    if pa.types.is_dictionary(kind):
        values = array.dictionary
        data = values.buffers()[-1]
        key = (data.address, data.size, len(values)) if data is not None else (0, 0, len(values))
        if key not in dictionaries:
            largest = _largest_value(values, dictionaries)
            if largest is None:
                return None
            dictionaries[key] = largest
        return dictionaries[key]
    if pa.types.is_struct(kind):
        total = 2
        for field, child in zip(kind, array.flatten(), strict=True):
            largest = _largest_value(child, dictionaries)
            if largest is None:
                return None
            total += len(field.name.encode()) + KEY_BYTES + largest
        return total
    if pa.types.is_nested(kind):
        return None
    sizes = value_sizes(array)
    return sizes if isinstance(sizes, int) else int(pc.max(sizes).as_py() or 0)


def row_sizes(batch: pa.RecordBatch) -> RowSizes:
    fixed, variable = _fields(batch.schema.names, batch.columns)
    return RowSizes(fixed, variable, batch.num_rows)


def _fields(names: list[str], columns: list[pa.Array]) -> tuple[int, pa.Array | None]:
    """Bytes of `{"name": value, ...}` objects: (the same for every row, per row)."""
    fixed = 2
    variable: list[pa.Array] = []
    for name, column in zip(names, columns, strict=True):
        fixed += len(name.encode()) + KEY_BYTES
        sizes = value_sizes(column)
        if isinstance(sizes, int):
            fixed += sizes
        else:
            variable.append(sizes)
    return fixed, functools.reduce(pc.add, variable) if variable else None


def value_sizes(array: pa.Array) -> Sizes:
    kind = array.type
    if pa.types.is_dictionary(kind):
        sizes = value_sizes(array.dictionary)
        return sizes if isinstance(sizes, int) else sizes.take(array.indices).fill_null(NULL_BYTES)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return _int64(pc.add(pc.binary_length(array), QUOTED_BYTES))
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
        return _int64(pc.add(pc.multiply(pc.divide(pc.add(pc.binary_length(array), 2), 3), 4), QUOTED_BYTES))
    if pa.types.is_fixed_size_binary(kind):
        return (kind.byte_width + 2) // 3 * 4 + QUOTED_BYTES
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _per_row(array.offsets, value_sizes(array.values))
    if pa.types.is_map(kind):
        return _per_row(array.offsets, _add(_add(value_sizes(array.keys), value_sizes(array.items)), KEY_BYTES))
    if pa.types.is_fixed_size_list(kind):
        return _fixed_lists(array, kind.list_size)
    if pa.types.is_struct(kind):
        fixed, variable = _fields([field.name for field in kind], array.flatten())
        return fixed if variable is None else _int64(pc.add(variable, fixed))
    if pa.types.is_decimal(kind):
        return kind.precision + 3
    if pa.types.is_temporal(kind) or pa.types.is_interval(kind):
        return TEMPORAL_BYTES
    return SCALAR_BYTES


def _per_row(offsets: pa.Array, element_sizes: Sizes) -> Sizes:
    """Per list: its elements' sizes (each with a comma), and its brackets (or `null`)."""
    offsets = _int64(offsets)
    if isinstance(element_sizes, int):
        lengths = pc.subtract(offsets[1:], offsets[:-1])
        return _int64(pc.add(pc.multiply(lengths, element_sizes + 1), NULL_BYTES))
    sums = pa.concat_arrays([pa.array([0], pa.int64()), _int64(pc.cumulative_sum(_int64(element_sizes)))])
    return _int64(pc.add(pc.subtract(sums.take(offsets[1:]), sums.take(offsets[:-1])), NULL_BYTES))


def _fixed_lists(array: pa.FixedSizeListArray, size: int) -> Sizes:
    elements = value_sizes(array.flatten())
    if isinstance(elements, int):
        return size * (elements + 1) + NULL_BYTES
    offsets = pa.array(range(0, (len(array) + 1) * size, size), pa.int64())
    return _per_row(offsets, elements)


def _add(left: Sizes, right: Sizes) -> Sizes:
    if isinstance(left, int) and isinstance(right, int):
        return left + right
    return _int64(pc.add(left, right))


def _int64(array: pa.Array) -> pa.Array:
    array = array.fill_null(NULL_BYTES) if array.null_count else array
    return array if array.type == pa.int64() else array.cast(pa.int64())
