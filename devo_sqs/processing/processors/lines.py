"""`line_split_processor`: one record per line, the fast path for NDJSON and raw text."""

from __future__ import annotations

from collections.abc import Iterator

from devo_sqs.config.processors import LineSplitConfig
from devo_sqs.processing.processors.base import parse_json_lines
from devo_sqs.processing.records import ObjectContext, Records, in_runs
from devo_sqs.processing.text import line_blocks, split_lines


class LineSplit:
    """Each non-empty line is a record; with `json: true` it is also parsed for field mapping,
    and a line that is not JSON is counted and skipped. The original line is what is sent."""

    def __init__(self, config: LineSplitConfig, *, parse_records: bool) -> None:
        self.parse = config.json_

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        run_size = ctx.limits.records_per_run
        for block in line_blocks(chunks, ctx):
            for lines in in_runs(split_lines(block), run_size):
                yield parse_json_lines(lines, ctx) if self.parse else Records(lines, None)
