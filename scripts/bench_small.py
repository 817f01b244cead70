"""Small objects end to end: many small CloudTrail objects on the in-memory S3 + SQS endpoint (in its own process,
every request delayed by a region's latency), drained by `devo-sqs run` with the README's minimal input config,
with a tuned one, and by a bare boto3 loop; objects/s and CPU per object of each, at each latency, in one run.

moto answers only a few dozen receive + get + delete rounds a second, so against moto this would measure moto.
Each contender gets a fresh queue on the same endpoint and the same objects; the clock runs from the instant all
notifications appear in the queue (a backlog, as after an outage) to the last record received with the queue empty.

Also the bare loop's own entry point, run as a process of its own by `bare_loop`:

    python scripts/bench_small.py bare ENDPOINT_URL QUEUE_URL OBJECTS THREADS
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import psutil
from botocore.config import Config

LATENCIES_MS = (0, 40)
BARE_THREADS = 16
MINIMAL_INPUT: dict[str, Any] = {}  # the README's minimum: no puller_threads, no sqs_max_messages
SMALL_TUNED_INPUT = {"puller_threads": 16, "sqs_max_messages": 10}
CONTENDERS = ("default", "tuned", "bare")
LABELS = {
    "default": "devo-sqs, minimal config",
    "tuned": "devo-sqs, puller_threads 16, sqs_max_messages 10",
    "bare": f"bare boto3 loop, {BARE_THREADS} threads",
}
BUCKET = "trail"
KEY_PREFIX = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/16"
READY_SECONDS = 60.0
STOP_SECONDS = 40.0


@dataclass(frozen=True)
class Consumer:
    """A consumer in its long polls: its pid (CPU is measured on its process tree) and, for the collector, the
    frames its relay receiver has counted so far (the bare loop forwards nothing)."""

    pid: int
    frames: Callable[[], int] | None = None


@dataclass(frozen=True)
class SmallObjects:
    keys: list[str]
    records_per_object: int
    gz_bytes: int  # all objects together


def load_objects(endpoint: Any, directory: Path, *, objects: int, records_per_object: int) -> SmallObjects:
    """CloudTrail files as CloudTrail writes them (gzip `{"Records": [...]}`), put in the endpoint's bucket."""
    from bench_data import make_cloudtrail_files

    directory.mkdir(parents=True)
    s3 = endpoint.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    keys, size = [], 0
    for path in make_cloudtrail_files(directory, objects, records_per_object):
        keys.append(f"{KEY_PREFIX}/{path.name}")
        body = path.read_bytes()
        s3.put_object(Bucket=BUCKET, Key=keys[-1], Body=body)
        size += len(body)
    return SmallObjects(keys, records_per_object, size)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants, as they are now."""
    root = psutil.Process(pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.01) -> float:
    """Poll until `condition`; the monotonic time it held. RuntimeError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic()


def queue_counts(endpoint: Any, queue: str) -> dict[str, int]:
    counts: dict[str, int] = endpoint.stats()["queues"][queue]
    return counts


def wait_pollers_settled(endpoint: Any, queue: str, alive: Callable[[], bool]) -> None:
    """Until at least one long poll waits on the queue and their number held still for a second (every puller
    or thread in its poll), so the clock does not include a start-up."""
    deadline = time.monotonic() + READY_SECONDS
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the consumer exited before it polled the queue")
        waiting = queue_counts(endpoint, queue)["waiting"]
        if waiting != last:
            last, since = waiting, time.monotonic()
        elif waiting and time.monotonic() - since >= 1.0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"no steady long polls on {queue} within {READY_SECONDS:.0f} s")


# --- the contenders ---------------------------------------------------------------------------------------


def collector_config(
    endpoint_url: str, queue_url: str, port: int, state: Path, tuning: dict[str, Any]
) -> dict[str, Any]:
    return {
        "globals": {"persistence": {"type": "filesystem", "config": {"directory_name": str(state)}}},
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": port}},
        "inputs": {
            "sqs_collector": {
                "id": "90002",
                "base_url": queue_url,
                "endpoint_url": endpoint_url,
                "credentials": {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
                **tuning,
                "services": {"aws_sqs_cloudtrail": {"key_pattern": "/CloudTrail/"}},
            }
        },
    }


@contextlib.contextmanager
def collector(endpoint: Any, queue_url: str, directory: Path, tuning: dict[str, Any]) -> Iterator[Consumer]:
    """`devo-sqs run` with a relay output to a counting receiver, in its long polls; SIGTERM on the way out,
    SIGKILL of its process group when that does not end it."""
    from bench_e2e import CountingReceiver

    from tests.support.collector_process import CollectorProcess

    directory.mkdir(parents=True)
    receiver = CountingReceiver().start()
    config = collector_config(endpoint.url, queue_url, receiver.port, directory / "state", tuning)
    process = CollectorProcess(config, directory=directory).start()
    try:
        wait_pollers_settled(endpoint, queue_url.rsplit("/", 1)[1], lambda: process.process.poll() is None)
        assert process.process is not None
        yield Consumer(process.process.pid, lambda: receiver.received_count)
    except BaseException:
        print(process.log()[-3000:], file=sys.stderr)
        raise
    finally:
        try:
            endpoint.close_queue(queue_url)  # its pullers need not wait out their 20 s polls to stop
            process.terminate(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
        receiver.stop()


@contextlib.contextmanager
def bare_loop(endpoint: Any, queue_url: str, objects: int) -> Iterator[Consumer]:
    """The bare loop in a process of its own (so that it, like the collector, has its own GIL), in its long
    polls; stopped by its pid on the way out."""
    command = [sys.executable, __file__, "bare", endpoint.url, queue_url, str(objects), str(BARE_THREADS)]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], READY_SECONDS)
        if not ready or process.stdout.readline() != b"ready\n":
            raise RuntimeError("the bare loop did not start")
        wait_pollers_settled(endpoint, queue_url.rsplit("/", 1)[1], lambda: process.poll() is None)
        yield Consumer(process.pid)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(STOP_SECONDS)
        if process.stdout is not None:
            process.stdout.close()


def bare_main(endpoint_url: str, queue_url: str, objects: int, threads: int) -> int:
    """Receive 10, get and read each announced object fully, delete the batch; `threads` threads, one client per
    service shared by all (boto3 clients are thread-safe). Exits when `objects` messages are deleted."""
    config = Config(max_pool_connections=2 * threads, retries={"max_attempts": 5, "mode": "standard"})
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    sqs = session.client("sqs", endpoint_url=endpoint_url, region_name="us-east-1", config=config)
    s3 = session.client("s3", endpoint_url=endpoint_url, region_name="us-east-1", config=config)
    done, lock, counts = threading.Event(), threading.Lock(), Counter[str]()

    def work() -> None:
        while not done.is_set():
            response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=20)
            messages = response.get("Messages", [])
            for message in messages:
                for record in json.loads(message["Body"])["Records"]:
                    key = unquote_plus(record["s3"]["object"]["key"])
                    s3.get_object(Bucket=record["s3"]["bucket"]["name"], Key=key)["Body"].read()
            if messages:
                entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
                sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
                with lock:
                    counts["objects"] += len(messages)
                    if counts["objects"] >= objects:
                        done.set()

    for _ in range(threads):
        threading.Thread(target=work, daemon=True).start()  # daemons: the ones in a long poll end with the process
    print("ready", flush=True)
    return 0 if done.wait(timeout=3600) else 1


# --- one measurement --------------------------------------------------------------------------------------


def measure(endpoint: Any, directory: Path, data: SmallObjects, *, contender: str, latency_ms: int) -> dict[str, Any]:
    """One contender draining a fresh queue holding every object's notification."""
    queue = f"small-{contender}-{latency_ms}ms"
    queue_url = endpoint.client("sqs").create_queue(QueueName=queue)["QueueUrl"]
    objects, records = len(data.keys), len(data.keys) * data.records_per_object
    timeout = max(300.0, objects)
    if contender == "bare":
        consumer = bare_loop(endpoint, queue_url, objects)
    else:
        tuning = MINIMAL_INPUT if contender == "default" else SMALL_TUNED_INPUT
        consumer = collector(endpoint, queue_url, directory / queue, tuning)
    with consumer as running:
        frames = running.frames or (lambda: 0)
        before = frames()  # the collector's own start-up warnings go to the relay output too
        cpu_before, endpoint_before = tree_cpu_seconds(running.pid), tree_cpu_seconds(endpoint.pid)
        requests_before = Counter(endpoint.stats()["requests"])
        started = time.monotonic()
        endpoint.announce(queue_url, BUCKET, data.keys)
        if running.frames:
            wait_for(lambda: frames() - before >= records, timeout=timeout, what=f"{records} records")
        ended = wait_for(lambda: _drained(queue_counts(endpoint, queue)), timeout=timeout, what="an empty queue")
        cpu = tree_cpu_seconds(running.pid) - cpu_before
        endpoint_cpu = tree_cpu_seconds(endpoint.pid) - endpoint_before
        requests = Counter(endpoint.stats()["requests"]) - requests_before
        time.sleep(0.2)  # frames still on the wire when the last message was deleted
        records_received = frames() - before
    row = {
        "contender": contender,
        "latency_ms": latency_ms,
        "objects": objects,
        "seconds": ended - started,
        "objects_per_second": objects / (ended - started),
        "cpu_ms_per_object": cpu * 1000 / objects,
        "endpoint_cpu_ms_per_object": endpoint_cpu * 1000 / objects,
        "requests": dict(requests),
    }
    if running.frames:
        row["records_received"] = records_received
        if records_received != records:
            row["note"] = f"{records_received} records received, {records} sent"
    return row


def _drained(counts: dict[str, int]) -> bool:
    return counts["visible"] == counts["in_flight"] == counts["delayed"] == 0


# --- the whole part ---------------------------------------------------------------------------------------


def small_objects(directory: Path, *, objects: int, records_per_object: int) -> dict[str, Any]:
    """Every contender at every latency, on one endpoint process; rows, ratios and the printed table."""
    from tests.support.memory_aws import MemoryAwsProcess

    with MemoryAwsProcess() as endpoint:
        data = load_objects(endpoint, directory / "objects", objects=objects, records_per_object=records_per_object)
        rows = []
        for latency_ms in LATENCIES_MS:
            endpoint.set_latency(latency_ms / 1000)
            for contender in ("bare", "default", "tuned"):
                rows.append(measure(endpoint, directory, data, contender=contender, latency_ms=latency_ms))
                print(f"  small objects, {contender} at {latency_ms} ms: {rows[-1]['objects_per_second']:.1f}/s",
                      file=sys.stderr)  # fmt: skip
    result = {
        "objects": objects,
        "records_per_object": records_per_object,
        "object_kb": data.gz_bytes / objects / 1000,
        "minimal_input": MINIMAL_INPUT,
        "tuned_input": SMALL_TUNED_INPUT,
        "bare_threads": BARE_THREADS,
        "runs": rows,
        "ratios": ratios(rows),
    }
    result["table"] = table(result)
    return result


def ratios(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    rate = {(row["contender"], row["latency_ms"]): row["objects_per_second"] for row in rows}
    return {
        f"{ms}ms": {
            "default/bare": rate["default", ms] / rate["bare", ms],
            "default/tuned": rate["default", ms] / rate["tuned", ms],
        }
        for ms in LATENCIES_MS
    }


def table(result: dict[str, Any]) -> str:
    by = {(row["contender"], row["latency_ms"]): row for row in result["runs"]}
    header = ["consumer"]
    for ms in LATENCIES_MS:
        header += [f"{ms} ms: objects/s", f"{ms} ms: CPU ms/object"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for contender in CONTENDERS:
        cells = [LABELS[contender]]
        for ms in LATENCIES_MS:
            row = by[contender, ms]
            cells += [f"{row['objects_per_second']:.1f}", f"{row['cpu_ms_per_object']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    for ratio in ("default/bare", "default/tuned"):
        cells = [ratio]
        for ms in LATENCIES_MS:
            cells += [f"{result['ratios'][f'{ms}ms'][ratio]:.2f}x", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] != ["bare"] or len(sys.argv) != 6:
        sys.exit(
            f"usage: {sys.argv[0]} bare ENDPOINT_URL QUEUE_URL OBJECTS THREADS (see scripts/bench.py --only small)"
        )
    sys.exit(bare_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
