"""CPU per object and per record of every predefined service, on the genuine files (or documented fixtures) its
test reads (tests/unit/processing/test_predefined_services.py), in this process, on one core.

    .venv/bin/python scripts/bench_services.py [--seconds 1.0] [--json out.json]

Per case, what bench.py calls "ours": `ServicePipeline.run` with every run framed by `Framer.frame_run`.
- objects/s: each file read as one object, as it is, again and again (the per-object cost at the sample's size);
- records/s: one object made of copies of the file, as big as bench.py's micro objects (~8 MB decompressed), where
  copies of the file are still one valid object of the format (the records come out as many times as the copies;
  not so for one-document formats such as CloudTrail's `{"Records": [...]}`: bench.py's micro part measures those).
CPU time (time.process_time) is what is measured, so other load on the machine slows the numbers less than wall
time would. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devo_sqs.config.loader import parse_config  # noqa: E402
from devo_sqs.errors import CollectorError  # noqa: E402
from devo_sqs.output.framing import Framer, syslog_timestamp  # noqa: E402
from devo_sqs.processing.pipeline import ServicePipeline  # noqa: E402
from devo_sqs.processing.records import ObjectContext  # noqa: E402
from devo_sqs.processing.services import ServiceRouter  # noqa: E402
from tests.unit.processing.test_predefined_services import CASES, Case, source  # noqa: E402

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/bench"
BIG_OBJECT_BYTES = 8 << 20
MB = 1 << 20


def pipeline_for(case: Case) -> ServicePipeline:
    config = parse_config(
        {"inputs": {"sqs_collector": {"id": "bench", "base_url": QUEUE_URL, "services": {case.service: {}}}}}
    )
    pipeline = ServiceRouter.for_input(config.inputs.sqs_collector).pipeline_named(case.service, case.key)
    assert pipeline is not None, case.id
    return pipeline


def read_objects(pipeline: ServicePipeline, key: str, bodies: list[bytes], framer: Framer) -> tuple[int, int]:
    """(records, decompressed bytes) of reading each body as one object."""
    records = size = 0
    timestamp = syslog_timestamp()
    for body in bodies:
        ctx = ObjectContext(source=key)
        for tag, messages in pipeline.run(io.BytesIO(body), key, ctx):
            framer.frame_run(tag, messages, timestamp=timestamp)
        records += ctx.stats.records
        size += ctx.stats.bytes_read
    return records, size


def cpu_rate(run: Callable[[], tuple[int, int]], seconds: float) -> tuple[int, float, int, int]:
    """(runs, CPU seconds, records, bytes) of repeating `run` for at least `seconds` of CPU."""
    runs = records = size = 0
    started = time.process_time()
    while (elapsed := time.process_time() - started) < seconds or runs == 0:
        got, read = run()
        runs, records, size = runs + 1, records + got, size + read
    return runs, elapsed, records, size


def plain(body: bytes) -> bytes:
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


def packed_as(body: bytes, text: bytes) -> bytes:
    """`text` compressed as `body` is."""
    return gzip.compress(text, compresslevel=6) if body[:2] == b"\x1f\x8b" else text


def copies(text: bytes, count: int) -> bytes:
    """The file `count` times over (a newline after a last line without one)."""
    return (text if text.endswith(b"\n") else text + b"\n") * count


def longer_list(text: bytes, count: int) -> bytes:
    """One JSON document whose longest list (CloudTrail `Records`, Config `configurationItems`) is `count` times
    as long."""
    document = json.loads(text)
    key = max((k for k, v in document.items() if isinstance(v, list)), key=lambda k: len(document[k]), default=None)
    if key is None:
        return b""
    document[key] = document[key] * count
    return json.dumps(document).encode()


def header_once(text: bytes, count: int) -> bytes:
    """The first line (a header such as VPC flow logs') once, the other lines `count` times."""
    head, _, rest = copies(text, 1).partition(b"\n")
    return head + b"\n" + rest * count


BIGGER = (copies, longer_list, header_once)  # ways to make one valid object of many copies of a file's records


def big_object(case: Case, pipeline: ServicePipeline, body: bytes, framer: Framer) -> bytes | None:
    """An object of ~BIG_OBJECT_BYTES of the file's records, or None when no way gives one valid object."""
    one, one_size = read_objects(pipeline, case.key, [body], framer)
    count = max(1, BIG_OBJECT_BYTES // max(one_size, 1))
    for bigger in BIGGER:
        try:
            big = packed_as(body, bigger(plain(body), count))
            got, _ = read_objects(pipeline, case.key, [big], framer)
        except (CollectorError, ValueError, AttributeError):  # not a document, or not one of this kind
            continue
        if one and got == one * count:
            return big
    return None


def measure(case: Case, seconds: float) -> dict[str, Any]:
    pipeline, framer = pipeline_for(case), Framer(hostname="bench-host")
    bodies = [source(name).read_bytes() for name in case.files]
    runs, cpu, records, size = cpu_rate(lambda: read_objects(pipeline, case.key, bodies, framer), seconds)
    objects = runs * len(bodies)
    row: dict[str, Any] = {
        "case": case.id,
        "service": case.service,
        "genuine": case.genuine,
        "object_kb": size / runs / len(bodies) / 1024,
        "records_per_object": records / objects,
        "objects_per_cpu_second": objects / cpu,
        "cpu_ms_per_object": cpu / objects * 1000,
    }
    big = big_object(case, pipeline, max(bodies, key=len), framer)
    if big is not None:
        _, cpu, records, size = cpu_rate(lambda: read_objects(pipeline, case.key, [big], framer), seconds)
        row.update(records_per_cpu_second=records / cpu, mb_per_cpu_second=size / MB / cpu)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| case | service | object KB | records/object | objects/s | CPU ms/object | records/s (big object) | MB/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        big = "records_per_cpu_second" in row
        lines.append(
            f"| {row['case']}{'' if row['genuine'] else ' (fixture)'} | {row['service']} | {row['object_kb']:,.1f} | "
            f"{row['records_per_object']:,.0f} | {row['objects_per_cpu_second']:,.0f} | "
            f"{row['cpu_ms_per_object']:.2f} | "
            + (f"{row['records_per_cpu_second']:,.0f} | {row['mb_per_cpu_second']:,.0f} |" if big else "- | - |")
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="CPU seconds per measurement")
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    args = parser.parse_args()
    rows = []
    for case in CASES:
        if not all(source(name).is_file() for name in case.files):
            print(f"  {case.id}: sample files absent, skipped", file=sys.stderr)
            continue
        rows.append(measure(case, args.seconds))
        print(f"  {case.id}: {rows[-1]['objects_per_cpu_second']:,.0f} objects/s", file=sys.stderr)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
