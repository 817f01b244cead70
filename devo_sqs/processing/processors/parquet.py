"""Parquet objects (`encoding: parquet`, or sniffed `PAR1`): each row is a record, sent as a JSON object.

Read row group by row group, so memory is bounded by the largest row group, not the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.processors.base import json_records
from devo_sqs.processing.records import ObjectContext, Records

ROWS_PER_RUN = 2000


def parquet_records(seekable: IO[bytes], ctx: ObjectContext) -> Iterator[Records]:
    try:
        reader = pq.ParquetFile(seekable)
        for batch in reader.iter_batches(batch_size=ROWS_PER_RUN):
            ctx.stats.bytes_read += batch.nbytes
            yield json_records(batch.to_pylist())
    except (pa.ArrowException, OSError) as exc:
        raise PermanentObjectError(f"cannot read parquet content: {exc}") from exc
