"""Throughput, latency and memory of devo-sqs on realistic generated data, next to the fastest bare loop on the
same bytes (the floor) and a naive collector (stdlib gzip + json + one frame per record).

    .venv/bin/python scripts/bench.py [--quick] [--json out.json] [--only micro|e2e|small|memory]

- Per format, in this process: `ServicePipeline.run` + `Framer.frame_run` (what the InputProcess and the
  OutputProcess do to each record), the floor and the naive loop, taking turns, best of a few runs each.
- End to end (bench_e2e.py): moto server -> `devo-sqs run` (real processes) -> a TCP syslog receiver: records/s
  and the latency from an object's PUT to the delivery of its last record.
- Small objects (bench_small.py): many small CloudTrail objects on an in-memory S3 + SQS endpoint (its own
  process) at 0 and 40 ms per request, drained by `devo-sqs run` with the README's minimal config, with a tuned
  config, and by a bare boto3 loop: objects/s, CPU ms per object, and the ratios.
- Memory (bench_e2e.py): peak RSS of each collector process, and of `devo-sqs parse --summary`, on a 2 GB VPC
  flow object.

The data comes from bench_data.py. Numbers are printed and written as JSON; nothing is asserted. Every process
and server started here is stopped by its pid, also on error. `--quick` uses small sizes and skips the 2 GB
parts (under two minutes).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from bench_data import (  # noqa: E402
    MB,
    NDJSON_SERVICE,
    VPC_HEADER,
    alb_line,
    cloudwatch_payloads,
    eventbridge_cloudtrail,
    lines_up_to,
    make_cloudtrail_files,
    ndjson_line,
    vpc_line,
    write_big_vpc,
    write_gzip,
    write_vpc_parquet,
)
from bench_e2e import TUNED_INPUT, e2e_big_vpc, e2e_latency, e2e_throughput, parse_summary_rss  # noqa: E402
from bench_small import small_objects  # noqa: E402
from isal import igzip  # noqa: E402

from devo_sqs.config.loader import parse_config  # noqa: E402
from devo_sqs.demo.local_aws import LocalAws  # noqa: E402
from devo_sqs.output.framing import Framer, syslog_timestamp  # noqa: E402
from devo_sqs.processing.pipeline import ServicePipeline  # noqa: E402
from devo_sqs.processing.records import ObjectContext  # noqa: E402
from devo_sqs.processing.services import ServiceRouter  # noqa: E402

CHUNK = 1 << 20
HOST = b"bench-host"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/bench"


@dataclass(frozen=True)
class Sizes:
    """How much data each part uses (decompressed bytes unless named otherwise)."""

    ndjson_bytes: int
    cloudtrail_files: int
    cloudtrail_records_per_file: int
    vpc_bytes: int
    alb_bytes: int
    cloudwatch_bytes: int
    firehose_cloudtrail_bytes: int
    parquet_rows: int
    repeats: int
    e2e_objects: int
    e2e_records_per_object: int
    latency_objects: int
    latency_records_per_object: int
    latency_interval_seconds: float
    big_vpc_bytes: int  # the object of the memory measurement
    small_objects: int  # CloudTrail objects of the small-object part
    small_records_per_object: int


FULL = Sizes(
    ndjson_bytes=128 * MB,
    cloudtrail_files=40,
    cloudtrail_records_per_file=2000,
    vpc_bytes=128 * MB,
    alb_bytes=128 * MB,
    cloudwatch_bytes=64 * MB,
    firehose_cloudtrail_bytes=64 * MB,
    parquet_rows=1_000_000,
    repeats=3,
    e2e_objects=40,
    e2e_records_per_object=25_000,
    latency_objects=20,
    latency_records_per_object=5_000,
    latency_interval_seconds=0.5,
    big_vpc_bytes=2_000 * MB,
    small_objects=600,
    small_records_per_object=30,
)
QUICK = Sizes(
    ndjson_bytes=24 * MB,
    cloudtrail_files=8,
    cloudtrail_records_per_file=2000,
    vpc_bytes=24 * MB,
    alb_bytes=24 * MB,
    cloudwatch_bytes=16 * MB,
    firehose_cloudtrail_bytes=16 * MB,
    parquet_rows=200_000,
    repeats=2,
    e2e_objects=20,
    e2e_records_per_object=20_000,
    latency_objects=20,
    latency_records_per_object=2_000,
    latency_interval_seconds=0.25,
    big_vpc_bytes=200 * MB,
    small_objects=150,
    small_records_per_object=30,
)

# --- the formats -------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str  # the table's row
    service: str  # predefined name, or the key of `overrides`
    files: list[Path]
    key: str  # the S3 key the files stand for (file variables, dispatch)
    floor: Callable[[list[Path]], int]
    naive: Callable[[list[Path]], int]
    overrides: dict[str, Any] = field(default_factory=dict)


def pipeline_for(case: Case) -> ServicePipeline:
    config = parse_config(
        {
            "inputs": {
                "sqs_collector": {"id": "bench", "base_url": QUEUE_URL, "services": {case.service: case.overrides}}
            }
        }
    )
    pipeline = ServiceRouter.for_input(config.inputs.sqs_collector).pipeline_named(case.service, case.key)
    assert pipeline is not None
    return pipeline


def ours(case: Case) -> tuple[int, int]:
    """(records, decompressed bytes): ServicePipeline.run, every run framed as the output process does."""
    pipeline = pipeline_for(case)
    framer = Framer(hostname=HOST.decode())
    timestamp = syslog_timestamp()
    records = size = 0
    for path in case.files:
        ctx = ObjectContext(source=str(path))
        with path.open("rb") as raw:
            for tag, messages in pipeline.run(raw, case.key, ctx):
                framer.frame_run(tag, messages, timestamp=timestamp)
        records += ctx.stats.records
        size += ctx.stats.bytes_read
    return records, size


# The floor: the fastest bare loop (isal streaming gunzip, bytes.split, orjson, one replace to frame a block).


def isal_chunks(path: Path) -> Iterator[bytes]:
    with igzip.open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def cut_blocks(chunks: Iterable[bytes], separator: bytes) -> Iterator[bytes]:
    """Blocks of whole records, cut at the last separator of each chunk."""
    carry = b""
    for chunk in chunks:
        cut = chunk.rfind(separator)
        if cut < 0:
            carry += chunk
            continue
        yield carry + chunk[: cut + len(separator) - 1]
        carry = chunk[cut + len(separator) - 1 :].removeprefix(b"\n")
    if carry:
        yield carry


def frame_block(tag: bytes, block: bytes) -> bytes:
    """LF-terminated frames for every line of a block: one replace and one join."""
    header = b"<14>%s %s %s: " % (syslog_timestamp(), HOST, tag)
    return b"".join((header, block.replace(b"\n", b"\n" + header), b"\n"))


def frame_list(tag: bytes, messages: list[bytes]) -> bytes:
    """LF-terminated frames for a list of messages: two joins."""
    header = b"<14>%s %s %s: " % (syslog_timestamp(), HOST, tag)
    return b"".join((header, (b"\n" + header).join(messages), b"\n"))


def floor_ndjson(paths: list[Path]) -> int:
    loads, count = orjson.loads, 0
    for path in paths:
        for block in cut_blocks(isal_chunks(path), b"\n"):
            lines = block.split(b"\n")
            for line in lines:
                loads(line)
            frame_block(b"cloud.aws.cloudtrail", block)
            count += len(lines)
    return count


def floor_lines(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        for block in cut_blocks(isal_chunks(path), b"\n"):
            count += len(block.split(b"\n"))
            frame_block(b"cloud.aws.vpc.flow", block)
    return count


def floor_records_document(paths: list[Path]) -> int:
    dumps, count = orjson.dumps, 0
    for path in paths:
        records = orjson.loads(b"".join(isal_chunks(path)))["Records"]
        for start in range(0, len(records), 1000):  # framed in runs: one huge block is slower (memory)
            frame_list(b"cloud.aws.cloudtrail", [dumps(record) for record in records[start : start + 1000]])
        count += len(records)
    return count


def back_to_back(paths: list[Path]) -> Iterator[list[Any]]:
    """Parsed values of back-to-back JSON, one orjson call per block made an array at `}{` (right for this
    generated data, not in general)."""
    for path in paths:
        for block in cut_blocks(isal_chunks(path), b"}{"):
            yield orjson.loads(b"[" + block.replace(b"}{", b"},{") + b"]")


def floor_cloudwatch(paths: list[Path]) -> int:
    """Lambda messages end with a newline: octet-counted frames (`LEN SP FRAME`), as RFC 6587 wants."""
    count = 0
    header = b"<14>%s %s cloud.aws.cloudwatch.logs: " % (syslog_timestamp(), HOST)
    for payloads in back_to_back(paths):
        messages = [event["message"].encode() for payload in payloads for event in payload["logEvents"]]
        b"".join([b"%d %s%s" % (len(header) + len(message), header, message) for message in messages])
        count += len(messages)
    return count


def floor_firehose_cloudtrail(paths: list[Path]) -> int:
    dumps, count = orjson.dumps, 0
    for values in back_to_back(paths):
        frame_list(b"cloud.aws.cloudtrail", [dumps(value["detail"]) for value in values])
        count += len(values)
    return count


def floor_parquet(paths: list[Path]) -> int:
    dumps, count = orjson.dumps, 0
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=2000, use_threads=False):
            rows = batch.to_pylist()
            frame_list(b"cloud.aws.vpc.flow", [dumps(row) for row in rows])
            count += len(rows)
    return count


# The naive collector: stdlib gzip, json.loads and json.dumps, one frame built per record.


def naive_frame(tag: str, message: str) -> bytes:
    frame = f"<14>{syslog_timestamp().decode()} bench-host {tag}: {message}"
    return f"{len(frame.encode())} {frame}".encode() if "\n" in message else f"{frame}\n".encode()


def naive_ndjson(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                count += 1
                if record.get("eventName") == "Decrypt":
                    continue
                naive_frame(f"cloud.aws.cloudtrail.{record['eventSource'].split('.')[0]}", json.dumps(record))
    return count


def naive_lines(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("version "):
                    continue
                naive_frame("cloud.aws.vpc.flow", line.rstrip("\n"))
                count += 1
    return count


def naive_records_document(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as document:
            for record in json.load(document)["Records"]:
                tag = f"cloud.aws.cloudtrail.{record['recipientAccountId']}.{record['awsRegion']}"
                naive_frame(tag, json.dumps(record))
                count += 1
    return count


def naive_values(paths: list[Path]) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            text = stream.read()
        position = 0
        while position < len(text):
            value, position = decoder.raw_decode(text, position)
            yield value


def naive_cloudwatch(paths: list[Path]) -> int:
    count = 0
    for payload in naive_values(paths):
        for event in payload["logEvents"]:
            naive_frame("cloud.aws.cloudwatch.logs", event["message"])
            count += 1
    return count


def naive_firehose_cloudtrail(paths: list[Path]) -> int:
    count = 0
    for value in naive_values(paths):
        record = value["detail"]
        naive_frame(f"cloud.aws.cloudtrail.{record['recipientAccountId']}.{record['awsRegion']}", json.dumps(record))
        count += 1
    return count


def naive_parquet(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        for row in pq.read_table(path).to_pylist():
            naive_frame("cloud.aws.vpc.flow", json.dumps(row))
            count += 1
    return count


def make_cases(directory: Path, sizes: Sizes) -> list[Case]:
    ndjson = directory / "app-ndjson.json.gz"
    write_gzip(ndjson, lines_up_to(ndjson_line, sizes.ndjson_bytes, seed=1))
    trails = make_cloudtrail_files(directory, sizes.cloudtrail_files, sizes.cloudtrail_records_per_file)
    vpc = directory / "vpcflow.log.gz"
    write_gzip(vpc, itertools.chain([VPC_HEADER + b"\n"], lines_up_to(vpc_line, sizes.vpc_bytes, seed=6)))
    alb = directory / "alb.log.gz"
    write_gzip(alb, lines_up_to(alb_line, sizes.alb_bytes, seed=7))
    cloudwatch = directory / "firehose-cloudwatch.gz"
    with cloudwatch.open("wb") as out:
        for payload in cloudwatch_payloads(sizes.cloudwatch_bytes):
            out.write(igzip.compress(payload, compresslevel=1))
    firehose = directory / "firehose-cloudtrail.gz"
    write_gzip(firehose, eventbridge_cloudtrail(sizes.firehose_cloudtrail_bytes))
    parquet = directory / "vpcflow.parquet"
    write_vpc_parquet(parquet, sizes.parquet_rows)
    prefix = "AWSLogs/111122223333"
    return [
        Case("ndjson (map+filter+tag)", "app_ndjson", [ndjson], "app/2024/01/16/part-0001.json.gz",
             floor_ndjson, naive_ndjson, NDJSON_SERVICE),
        Case("cloudtrail Records", "aws_sqs_cloudtrail", trails, f"{prefix}/CloudTrail/us-east-1/x.json.gz",
             floor_records_document, naive_records_document),
        Case("vpc flow", "aws_sqs_vpc", [vpc], f"{prefix}/vpcflowlogs/us-east-1/flow.log.gz", floor_lines, naive_lines),
        Case("alb", "aws_sqs_alb", [alb], f"{prefix}/elasticloadbalancing/us-east-1/alb.log.gz",
             floor_lines, naive_lines),
        Case("firehose cloudwatch", "aws_sqs_cloudwatch", [cloudwatch], "firehose/2024/01/16/cwl.gz",
             floor_cloudwatch, naive_cloudwatch),
        Case("firehose cloudtrail", "aws_sqs_cloudtrail_kinesis", [firehose], "firehose/2024/01/16/ct.gz",
             floor_firehose_cloudtrail, naive_firehose_cloudtrail),
        Case("vpc flow parquet", "aws_sqs_vpc", [parquet], f"{prefix}/vpcflowlogs/us-east-1/flow.parquet",
             floor_parquet, naive_parquet),
    ]  # fmt: skip


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds and result of one run (after a collection, so earlier garbage does not bill this run)."""
    gc.collect()
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def without_gc(run: Callable[[list[Path]], int], paths: list[Path]) -> int:
    """The floor at its fastest: no cyclic garbage collection while it keeps parsed documents."""
    gc.disable()
    try:
        return run(paths)
    finally:
        gc.enable()


def micro(case: Case, repeats: int) -> dict[str, Any]:
    """Ours, the floor and the naive loop in turn, `repeats` times; the best time of each. Taking turns gives
    all three the same allocator state (a warm heap makes any of them up to 1.5x faster)."""
    runs = {
        "ours": lambda: ours(case),
        "floor": lambda: without_gc(case.floor, case.files),
        "naive": lambda: case.naive(case.files),
    }
    best: dict[str, tuple[float, Any]] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds, result = timed(run)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, result)
    seconds, (records, size) = best["ours"]
    (floor_seconds, floor_records), (naive_seconds, naive_records) = best["floor"], best["naive"]
    row = {
        "format": case.name,
        "records": records,
        "mb": size / MB,
        "ours_rps": records / seconds,
        "ours_mbps": size / MB / seconds,
        "floor_rps": floor_records / floor_seconds,
        "naive_rps": naive_records / naive_seconds,
    }
    row["ours_floor"] = row["ours_rps"] / row["floor_rps"]
    row["ours_naive"] = row["ours_rps"] / row["naive_rps"]
    if max(abs(floor_records - records), abs(naive_records - records)) > records / 1000:
        row["note"] = f"record counts differ: ours {records}, floor {floor_records}, naive {naive_records}"
    return row


# --- report --------------------------------------------------------------------------------------------------------

COLUMNS = ("format", "ours rec/s", "ours MB/s", "floor rec/s", "naive rec/s", "ours/floor", "ours/naive")


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = [
            row["format"],
            f"{row['ours_rps']:,.0f}",
            f"{row['ours_mbps']:,.0f}",
            f"{row['floor_rps']:,.0f}",
            f"{row['naive_rps']:,.0f}",
            f"{row['ours_floor']:.2f}x",
            f"{row['ours_naive']:.1f}x",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, no 2 GB parts (under two minutes)")
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    parser.add_argument("--only", choices=("micro", "e2e", "small", "memory"), help="run one part")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "quick": args.quick,
        "e2e_input_config": TUNED_INPUT,
    }
    with tempfile.TemporaryDirectory(prefix="devo-sqs-bench-") as scratch:
        directory = Path(scratch)
        if args.only in (None, "micro"):
            results["micro"] = run_micro(directory, sizes)
        if args.only in (None, "e2e", "memory"):
            results.update(run_e2e(directory, sizes, parts=args.only))
        if args.only in (None, "small"):
            results["small_objects"] = run_small(directory, sizes)
    print("\n".join(summary(results)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def summary(results: dict[str, Any]) -> list[str]:
    """The end-to-end and memory results in a few lines (the JSON has everything)."""
    lines = []
    if tp := results.get("e2e_throughput"):
        lines.append(
            f"end to end ({tp['records']:,} records in {tp['objects']} NDJSON objects, {TUNED_INPUT}): "
            f"{tp['first_put_to_last_delivery_rps']:,.0f} records/s first put -> last delivery "
            f"(start-up {tp['startup_seconds']:.2f} s), steady {tp['steady_rps']:,.0f} records/s"
        )
        lines.append(f"  CPU seconds: {_rounded(tp['cpu_seconds'])} in {tp['wall_seconds']:.1f} s")
        lines.append(f"  peak RSS MiB: {_rounded(tp['peak_rss_mib'])}")
    if lat := results.get("e2e_latency"):
        lines.append(
            f"latency ({lat['objects']} objects of {lat['records_per_object']:,} records, one every "
            f"{lat['interval_seconds']} s): PUT -> last record delivered p50 {lat['p50_seconds'] * 1000:.0f} ms, "
            f"p99 {lat['p99_seconds'] * 1000:.0f} ms"
        )
    if big := results.get("big_vpc"):
        e2e, parse = big["e2e"], big["parse_summary"]
        lines.append(
            f"{big['decompressed_mb']:,.0f} MB VPC flow object ({e2e['records']:,} records): end to end "
            f"{e2e['put_to_last_delivery_rps']:,.0f} records/s, peak RSS MiB {_rounded(e2e['peak_rss_mib'])}"
        )
        lines.append(f"  CPU seconds: {_rounded(e2e['cpu_seconds'])}")
        lines.append(
            f"  devo-sqs parse --summary: {parse['rps']:,.0f} records/s, peak RSS MiB {_rounded(parse['peak_rss_mib'])}"
        )
    return lines


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 1) for name, value in values.items()}


def run_micro(directory: Path, sizes: Sizes) -> list[dict[str, Any]]:
    started = time.monotonic()
    cases = make_cases(directory, sizes)
    print(f"data generated in {time.monotonic() - started:.1f} s", file=sys.stderr)
    rows = []
    for case in cases:
        rows.append(micro(case, sizes.repeats))
        print(f"  {case.name}: {rows[-1]['ours_rps']:,.0f} rec/s", file=sys.stderr)
    print(table(rows))
    return rows


def run_small(directory: Path, sizes: Sizes) -> dict[str, Any]:
    result = small_objects(
        directory / "small", objects=sizes.small_objects, records_per_object=sizes.small_records_per_object
    )
    print(
        f"small objects: {result['objects']} CloudTrail objects of {result['records_per_object']} records "
        f"({result['object_kb']:.1f} KB gzip each), in-memory S3 + SQS at 0 and 40 ms per request"
    )
    print(result["table"])
    return result


def run_e2e(directory: Path, sizes: Sizes, *, parts: str | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    aws = LocalAws().start()
    try:
        if parts in (None, "e2e"):
            results["e2e_throughput"] = e2e_throughput(
                aws, directory, objects=sizes.e2e_objects, records_per_object=sizes.e2e_records_per_object
            )
            print("  end to end throughput measured", file=sys.stderr)
            results["e2e_latency"] = e2e_latency(
                aws,
                directory,
                objects=sizes.latency_objects,
                records_per_object=sizes.latency_records_per_object,
                interval_seconds=sizes.latency_interval_seconds,
            )
            print("  end to end latency measured", file=sys.stderr)
        if parts in (None, "memory"):
            big = directory / "big-vpcflow.log.gz"
            records = write_big_vpc(big, sizes.big_vpc_bytes)
            results["big_vpc"] = {"decompressed_mb": sizes.big_vpc_bytes / MB}
            results["big_vpc"]["e2e"] = e2e_big_vpc(aws, directory, big, records)
            print("  big VPC object end to end measured", file=sys.stderr)
            results["big_vpc"]["parse_summary"] = parse_summary_rss(big)
    finally:
        aws.stop()
    return results


if __name__ == "__main__":
    sys.exit(main())
