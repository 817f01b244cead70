"""End to end: moto server (S3 + SQS) -> `devo-sqs run` as real processes -> a TCP syslog receiver; peak RSS and
CPU of every collector process. Everything started here is stopped by its pid, also on error.
"""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil
import yaml
from bench_data import MB, NDJSON_SERVICE, ndjson_body

from devo_sqs.demo.local_aws import LocalAws
from tests.support.syslog_receiver import SyslogReceiver

E2E_SERVICE: dict[str, Any] = {
    **NDJSON_SERVICE,
    "key_pattern": "^app/",
    "file_field_definitions": {"object": [{"operator": "split", "on": "/", "element": 1}]},
    "routing_template": "my.app.[file-object].[record-source]",
}
# What an operator tuning for throughput sets (defaults: one puller, one message per receive); batches keep their
# defaults (queue_wrap_max_size_in_messages 5000), which keep every process under 200 MB.
TUNED_INPUT = {"sqs_wait_timeout": 20, "sqs_max_messages": 10, "puller_threads": 2}


class CountingReceiver:
    """Counts LF-terminated frames on 127.0.0.1 without keeping them: SyslogReceiver keeps every frame, and the
    ~18M frames of a 2 GB VPC object would hold gigabytes in this process."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._counts: list[int] = []  # one per connection, each written by its own thread
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    def start(self) -> CountingReceiver:
        self._threads[0].start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        self._listener.close()

    @property
    def received_count(self) -> int:
        return sum(self._counts)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(0.1)
            self._counts.append(0)
            thread = threading.Thread(target=self._count, args=(connection, len(self._counts) - 1), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _count(self, connection: socket.socket, slot: int) -> None:
        with connection:
            while not self._stopping.is_set():
                try:
                    data = connection.recv(1 << 20)
                except TimeoutError:
                    continue
                if not data:
                    return
                self._counts[slot] += data.count(b"\n")


class RssWatcher:
    """Peak RSS and CPU seconds of every process of a tree (polled every 50 ms), named: the collector's
    children by start order (the parent starts the OutputProcess, then the InputProcess)."""

    def __init__(self, pid: int, *, root_name: str) -> None:
        self._root = psutil.Process(pid)
        self._root_name = root_name
        self.peaks: dict[str, int] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> RssWatcher:
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        """Peak RSS in MiB by process name."""
        self._stopping.set()
        self._thread.join()
        return {name: peak / (1 << 20) for name, peak in self.peaks.items()}

    def _poll(self) -> None:
        while not self._stopping.wait(0.05):
            try:
                for name, process in self._named():
                    with process.oneshot():
                        self.peaks[name] = max(self.peaks.get(name, 0), process.memory_info().rss)
                        times = process.cpu_times()
                    self.cpu_seconds[name] = times.user + times.system
            except psutil.Error:
                continue  # a process ended between listing and reading

    def _named(self) -> Iterator[tuple[str, psutil.Process]]:
        yield self._root_name, self._root
        children = sorted(self._root.children(), key=lambda child: child.create_time())
        workers = [child for child in children if "spawn_main" in " ".join(child.cmdline())]
        yield from zip(("OutputProcess", "InputProcess"), workers, strict=False)


def collector_config(queue_url: str, endpoint: str, port: int, state: Path, services: dict[str, Any]) -> dict[str, Any]:
    return {
        "globals": {"persistence": {"type": "filesystem", "config": {"directory_name": str(state)}}},
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": port}},
        "inputs": {
            "sqs_collector": {
                "id": "90001",
                "base_url": queue_url,
                "endpoint_url": endpoint,
                "credentials": {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
                **TUNED_INPUT,
                "services": services,
            }
        },
    }


@dataclass
class Run:
    """One collector process against one queue and one receiver; stopped by its pid whatever happens."""

    aws: LocalAws
    directory: Path
    services: dict[str, Any]
    receiver: Any
    queue_url: str = ""
    process: subprocess.Popen[bytes] | None = None
    watcher: RssWatcher | None = None

    def start(self, name: str) -> Run:
        self.queue_url = self.aws.make_bucket_to_queue(name, name).queue_url
        self.directory.mkdir(parents=True, exist_ok=True)
        config = collector_config(
            self.queue_url, self.aws.url, self.receiver.port, self.directory / "state", self.services
        )
        config_path = self.directory / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        with (self.directory / "collector.err").open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devo_sqs", "run", str(config_path)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=self.directory,
                start_new_session=True,
            )
        self.watcher = RssWatcher(self.process.pid, root_name="parent").start()
        return self

    def log(self) -> str:
        return (self.directory / "collector.err").read_text(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until a puller logged that it started collecting."""
        started = time.monotonic()
        while "Starting data collection" not in self.log():
            if time.monotonic() - started > timeout or (self.process and self.process.poll() is not None):
                raise RuntimeError(f"collector did not start:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        return time.monotonic() - started

    def stop(self) -> dict[str, float]:
        """SIGTERM the collector (it stops its children), SIGKILL its process group if it does not exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.watcher.stop() if self.watcher else {}


class Sampler:
    """(time, count) samples every 5 ms, from a thread, so deliveries during the puts are seen too."""

    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count
        self.samples: list[tuple[float, int]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def wait(self, target: int, *, timeout: float, run: Run) -> list[tuple[float, int]]:
        """The samples up to the first that reached `target`; gives up when the collector exits."""
        deadline = time.monotonic() + timeout
        try:
            while not self.samples or self.samples[-1][1] < target:
                reached = self.samples[-1][1] if self.samples else 0
                if time.monotonic() > deadline or not run.alive():
                    raise RuntimeError(f"{reached} of {target} records delivered; collector log:\n{run.log()[-3000:]}")
                time.sleep(0.01)
        finally:
            self.stop()
        return self.samples

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _sample(self) -> None:
        while not self._stopping.wait(0.005):
            self.samples.append((time.monotonic(), self._count()))


def when_reached(samples: list[tuple[float, int]], target: float) -> float:
    return next(at for at, count in samples if count >= target)


def e2e_throughput(aws: LocalAws, directory: Path, *, objects: int, records_per_object: int) -> dict[str, Any]:
    """Objects all put at once while the collector starts: first put -> last delivery, and the steady rate."""
    body, kept = ndjson_body(records_per_object, seed=11)
    expected = kept * objects
    receiver = SyslogReceiver().start()
    run = Run(aws, directory / "throughput", {"app": E2E_SERVICE}, receiver)
    sampler = Sampler(lambda: receiver.received_count).start()
    try:
        run.start("throughput")
        launched, bench_cpu = time.monotonic(), _own_cpu_seconds()
        s3 = aws.client("s3")
        for index in range(objects):
            s3.put_object(Bucket="throughput", Key=f"app/obj{index:03d}/part-0000.json.gz", Body=body)
        puts = time.monotonic() - launched
        samples = sampler.wait(expected, timeout=max(180, expected / 5000), run=run)
        bench_cpu = _own_cpu_seconds() - bench_cpu
        assert run.watcher is not None
        cpu = {**run.watcher.cpu_seconds, "bench (moto + receiver)": bench_cpu}
    finally:
        sampler.stop()
        rss = run.stop()
        receiver.stop()
    first, last = when_reached(samples, 1), when_reached(samples, expected)
    low, high = when_reached(samples, expected * 0.1), when_reached(samples, expected * 0.9)
    return {
        "records": expected,
        "objects": objects,
        "put_seconds": puts,
        "startup_seconds": first - launched,
        "first_put_to_last_delivery_rps": expected / (last - launched),
        "steady_rps": (expected - 1) / (last - first),
        "steady_10_90_rps": expected * 0.8 / (high - low),
        "peak_rss_mib": rss,
        "cpu_seconds": cpu,
        "wall_seconds": last - launched,
        "seconds_per_message": _seconds_per_message(run.log()),
    }


def _own_cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def _seconds_per_message(log: str) -> float | None:
    """The mean time a puller spent on one message, from the InputProcess's final counters (its last line)."""
    for line in reversed(log.splitlines()):
        if "Process stopped: {" in line:
            counters = ast.literal_eval(line.split("Process stopped: ", 1)[1])
            return float(counters["message_seconds"]) / max(1, int(counters["messages_handled"]))
    return None


def e2e_latency(
    aws: LocalAws, directory: Path, *, objects: int, records_per_object: int, interval_seconds: float
) -> dict[str, Any]:
    """Objects put at a steady rate into a running collector; per object, PUT -> delivery of its last record."""
    body, kept = ndjson_body(records_per_object, seed=12)
    receiver = SyslogReceiver().start()
    run = Run(aws, directory / "latency", {"app": E2E_SERVICE}, receiver)
    put_at: dict[str, float] = {}
    done_at: dict[str, float] = {}
    try:
        run.start("latency")
        run.wait_ready()
        time.sleep(1.0)  # let both pullers enter their long poll
        s3 = aws.client("s3")
        counts: dict[str, int] = {}
        seen = 0
        next_put = time.monotonic()
        deadline = next_put + objects * interval_seconds + 120
        while len(done_at) < objects and time.monotonic() < deadline:
            if len(put_at) < objects and time.monotonic() >= next_put:
                name = f"obj{len(put_at):03d}"
                s3.put_object(Bucket="latency", Key=f"app/{name}/part-0000.json.gz", Body=body)
                put_at[name] = time.monotonic()
                next_put += interval_seconds
            frames = receiver.frames()
            for frame in frames[seen:]:
                name = frame.tag.split(".")[2]
                counts[name] = counts.get(name, 0) + 1
                if counts[name] == kept:
                    done_at[name] = time.monotonic()
            seen = len(frames)
            time.sleep(0.005)
    finally:
        rss = run.stop()
        receiver.stop()
    latencies = sorted(done_at[name] - put_at[name] for name in done_at)
    if len(latencies) < objects:
        raise RuntimeError(f"only {len(latencies)} of {objects} objects delivered")
    return {
        "objects": len(latencies),
        "records_per_object": kept,
        "interval_seconds": interval_seconds,
        "p50_seconds": latencies[len(latencies) // 2],
        "p99_seconds": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_seconds": latencies[-1],
        "peak_rss_mib": rss,
    }


def e2e_big_vpc(aws: LocalAws, directory: Path, path: Path, records: int) -> dict[str, Any]:
    """One big VPC flow object end to end: peak RSS per collector process, and the raw-line rate."""
    receiver = CountingReceiver().start()
    run = Run(aws, directory / "bigvpc", {"aws_sqs_vpc": {}}, receiver)
    sampler = Sampler(lambda: receiver.received_count)
    try:
        run.start("bigvpc")
        run.wait_ready()
        started = time.monotonic()
        sampler.start()
        with path.open("rb") as body:
            aws.client("s3").put_object(Bucket="bigvpc", Key="AWSLogs/1/vpcflowlogs/us-east-1/big.log.gz", Body=body)
        put = time.monotonic() - started
        samples = sampler.wait(records, timeout=max(300, records / 20000), run=run)
        assert run.watcher is not None
        cpu = dict(run.watcher.cpu_seconds)
    finally:
        sampler.stop()
        rss = run.stop()
        receiver.stop()
    last = when_reached(samples, records)
    return {
        "records": records,
        "gz_mb": path.stat().st_size / MB,
        "put_seconds": put,
        "put_to_last_delivery_rps": records / (last - started),
        "peak_rss_mib": rss,
        "cpu_seconds": cpu,
    }


def parse_summary_rss(path: Path) -> dict[str, Any]:
    """`devo-sqs parse --summary` on the object: peak RSS and rate."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "devo_sqs", "parse", "--service", "aws_sqs_vpc", "--summary", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    watcher = RssWatcher(process.pid, root_name="devo-sqs parse").start()
    try:
        out, _ = process.communicate(timeout=1800)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        rss = watcher.stop()
    seconds = time.monotonic() - started
    counts = orjson.loads(out)
    return {
        "records": sum(counts.values()),
        "seconds": seconds,
        "rps": sum(counts.values()) / seconds,
        "peak_rss_mib": rss,
    }
