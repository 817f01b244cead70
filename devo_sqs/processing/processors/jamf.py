"""`jamf_processor`: Jamf Protect / Jamf Pro exports (alerts, unified logs, threat events, webhooks).

The exports are JSON objects, one per line or back to back (S3 forwarding writes them without a final
newline, sometimes pretty-printed); each object is one record, sent as compact JSON (for the compact one-line
objects Jamf writes, the same text). A line or value that is not a JSON object is counted and skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from devo_sqs.config.processors import _Empty
from devo_sqs.processing.processors.base import json_records
from devo_sqs.processing.processors.json_stream import json_values
from devo_sqs.processing.records import ObjectContext, Records


class Jamf:
    def __init__(self, config: _Empty, *, parse_records: bool) -> None:
        pass

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        for objects in json_values(chunks, ctx):
            yield json_records(objects, ctx)
