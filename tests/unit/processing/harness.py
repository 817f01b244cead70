"""Drive processors the way the pipeline does (byte chunks of any size), and `devo-sqs parse` in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import TypeAdapter

from devo_sqs.cli import main
from devo_sqs.config.limits import Limits
from devo_sqs.config.processors import FileFormat
from devo_sqs.processing.processors import build_processor
from devo_sqs.processing.records import ObjectContext

CHUNK_SIZES = range(1, 8)


def in_chunks(data: bytes, size: int | None) -> Iterator[bytes]:
    """`data` cut every `size` bytes (None: one chunk)."""
    if size is None:
        yield data
        return
    for start in range(0, len(data), size):
        yield data[start : start + size]


def processor(kind: str, *, parse: bool = True, **config: Any) -> Any:
    file_format = TypeAdapter(FileFormat).validate_python({"type": kind, "config": config})
    return build_processor(file_format, parse_records=parse)


def records(
    run: Any, data: bytes, *, chunk_size: int | None = None, charset: str = "utf-8", **limits: int
) -> tuple[list[bytes], list[Any] | None, ObjectContext]:
    """(messages, parsed or None, ctx) of one object; `limits` override the default `Limits`."""
    ctx = ObjectContext(source="test", charset=charset, limits=Limits(**limits))
    messages: list[bytes] = []
    parsed: list[Any] | None = None
    for run_records in run(in_chunks(data, chunk_size), ctx):
        messages.extend(run_records.messages)
        if run_records.parsed is not None:
            parsed = [*(parsed or []), *run_records.parsed]
    return messages, parsed, ctx


def same_in_every_chunking(run: Any, data: bytes, **kwargs: Any) -> tuple[list[bytes], list[Any] | None, ObjectContext]:
    """The records of `data` in one chunk, asserting that chunks of 1..7 bytes give exactly the same."""
    whole = records(run, data, **kwargs)
    for size in CHUNK_SIZES:
        cut = records(run, data, chunk_size=size, **kwargs)
        assert (cut[0], cut[1], cut[2].stats.failed, cut[2].stats.replaced_bytes) == (
            whole[0],
            whole[1],
            whole[2].stats.failed,
            whole[2].stats.replaced_bytes,
        ), f"chunks of {size} bytes"
    return whole


def parse_cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, list[tuple[str, bytes]], str]:
    """(exit code, [(tag, message)], stderr) of `devo-sqs parse ARGS`."""
    code = main(["parse", *args])
    out, err = capsysbinary.readouterr()
    lines = [line.split(b"\t", 1) for line in out.splitlines()]
    return code, [(tag.decode(), message) for tag, message in lines], err.decode()
