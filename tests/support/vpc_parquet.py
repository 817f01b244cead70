"""VPC flow logs in Parquet as AWS writes them, for tests and the benchmark (no genuine sample is public).

Written from the AWS VPC documentation, "Flow log records in Parquet format": the default (v2) fields with their
Parquet names (underscores) and types; AWS writes these files with GZIP column compression.
"""

from __future__ import annotations

import pyarrow as pa

PARQUET_SCHEMA = pa.schema(
    [
        ("version", pa.int32()),
        ("account_id", pa.string()),
        ("interface_id", pa.string()),
        ("srcaddr", pa.string()),
        ("dstaddr", pa.string()),
        ("srcport", pa.int32()),
        ("dstport", pa.int32()),
        ("protocol", pa.int32()),
        ("packets", pa.int64()),
        ("bytes", pa.int64()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("action", pa.string()),
        ("log_status", pa.string()),
    ]
)
