"""A small, fast S3 + SQS endpoint in memory, for measuring the collector on small objects: moto answers only a few
dozen receive + get + delete rounds a second, so a benchmark against it measures moto.

One ThreadingHTTPServer (HTTP/1.1, keep-alive) serves SQS's JSON protocol (memory_sqs.py) and path-style S3
(memory_s3.py); every S3 and SQS request first sleeps the configured latency, as a region's 20-60 ms would.
Control requests under `/_memory/` (never delayed; no bucket name starts with "_") set the latency, announce
stored objects to a queue at one instant, end a queue's long polls, and report queue depths and request counts.

    python -m tests.support.memory_aws [--port 0] [--latency-ms 40]   # prints its URL, serves until SIGTERM

MemoryAws serves from a thread of this process (tests); MemoryAwsProcess runs the same server in its own process,
started and stopped by its pid, so that it does not share the measured process's GIL (benchmarks).
"""

from __future__ import annotations

import argparse
import json
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from collections import Counter
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.memory_queue import SqsError
from tests.support.memory_s3 import Reply, S3Api, S3Error
from tests.support.memory_sqs import REGION, SqsApi

CONTROL = "/_memory/"
ROOT = Path(__file__).resolve().parents[2]  # the repository: `python -m tests.support.memory_aws` runs from here
START_SECONDS = 30.0
STOP_SECONDS = 10.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # keep-alive connections end with their clients, not with the server
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], *, latency_seconds: float) -> None:
        super().__init__(address, _Handler)
        self.latency_seconds = latency_seconds
        self.sqs = SqsApi()
        self.s3 = S3Api(self.sqs)
        self.sqs.endpoint_url = self.url
        self._requests: Counter[str] = Counter()
        self._requests_lock = threading.Lock()

    def count(self, operation: str) -> None:
        with self._requests_lock:
            self._requests[operation] += 1

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def stats(self) -> dict[str, Any]:
        return {
            "latency_seconds": self.latency_seconds,
            "requests": dict(self._requests),
            "queues": {queue.name: asdict(queue.counts()) for queue in self.sqs.queues()},
        }

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (killed, or its long poll outlived it) is no error of ours."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_queues(self) -> None:
        for queue in self.sqs.queues():
            queue.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle + delayed ACK would add 40 ms
    server: _Server

    def do_POST(self) -> None:
        body = self._body()
        target = self.headers.get("X-Amz-Target", "")
        if self.path.startswith(CONTROL):
            self._answer(self._control(body))
        elif self.path == "/" and target.startswith("AmazonSQS."):
            self._answer(self._sqs(target.removeprefix("AmazonSQS."), body))
        else:
            self._answer(self._s3(body))

    def do_GET(self) -> None:
        body = self._body()
        self._answer(self._control(body) if self.path.startswith(CONTROL) else self._s3(body))

    def do_HEAD(self) -> None:
        self._answer(self._s3(self._body()))

    def do_PUT(self) -> None:
        self._answer(self._s3(self._body()))

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: one line per request would cost more than serving it."""

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _sqs(self, action: str, body: bytes) -> Reply:
        self.server.count(action)
        time.sleep(self.server.latency_seconds)
        request_id = str(uuid.uuid4())
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}
        try:
            answer = self.server.sqs.call(action, json.loads(body or b"{}"))
        except SqsError as exc:
            headers["x-amzn-query-error"] = f"{exc.query_code};Sender"
            error = {"__type": f"com.amazonaws.sqs#{exc.code}", "message": exc.message}
            return Reply(400, headers, json.dumps(error).encode())
        except Exception:
            return self._internal_error(headers)
        return Reply(200, headers, json.dumps(answer).encode())

    def _s3(self, body: bytes) -> Reply:
        self.server.count(self.server.s3.operation(self.command, self.path))
        time.sleep(self.server.latency_seconds)
        request_id = uuid.uuid4().hex[:16].upper()
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            reply = self.server.s3.handle(self.command, self.path, headers, body)
        except S3Error as exc:
            reply = exc.reply(request_id)
        except Exception:
            return self._internal_error({"Content-Type": "application/xml"})
        reply.headers["x-amz-request-id"] = request_id
        return reply

    def _control(self, body: bytes) -> Reply:
        """`GET stats`, `POST latency {"seconds"}`, `POST announce {"queue_url", "bucket", "keys"}`,
        `POST close {"queue_url"}`."""
        command = self.path.removeprefix(CONTROL)
        request = json.loads(body or b"{}")
        try:
            if command == "stats":
                answer = self.server.stats()
            elif command == "latency":
                self.server.latency_seconds = float(request["seconds"])
                answer = {"latency_seconds": self.server.latency_seconds}
            elif command == "close":
                self.server.sqs.queue(request["queue_url"]).close()
                answer = {}
            elif command == "announce":
                answer = {"sent": self.server.s3.announce(request["queue_url"], request["bucket"], request["keys"])}
            else:
                return Reply(404, {}, f"no control command {command!r}".encode())
        except (SqsError, S3Error, KeyError, ValueError) as exc:
            return Reply(400, {"Content-Type": "text/plain"}, f"{type(exc).__name__}: {exc}".encode())
        return Reply(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def _internal_error(self, headers: dict[str, str]) -> Reply:
        """A bug here: the client sees a 500 (and retries), and the traceback goes to stderr."""
        traceback.print_exc(file=sys.stderr)
        return Reply(500, headers, b"internal error in the in-memory endpoint")


class _Endpoint:
    """What both ways of running the server offer: its URL, boto3 clients on it, and the control requests."""

    url = ""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def client(self, service: str) -> Any:
        """A boto3 client for `s3` or `sqs` on this endpoint (cached; may be shared by threads)."""
        import boto3.session
        from botocore.config import Config

        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.url,
                    region_name=REGION,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    config=Config(max_pool_connections=32, retries={"max_attempts": 1}),
                )
            return self._clients[service]

    def set_latency(self, seconds: float) -> None:
        self._control("latency", {"seconds": seconds})

    def announce(self, queue_url: str, bucket: str, keys: list[str]) -> int:
        """Put the ObjectCreated events of these stored objects in the queue, all at one instant."""
        sent: int = self._control("announce", {"queue_url": queue_url, "bucket": bucket, "keys": keys})["sent"]
        return sent

    def close_queue(self, queue_url: str) -> None:
        """End every long poll on the queue now, and answer its later receives at once: a consumer told to stop
        then stops without waiting out a 20 s poll. Messages stay where they are."""
        self._control("close", {"queue_url": queue_url})

    def stats(self) -> dict[str, Any]:
        """`latency_seconds`, `requests` by action, and per queue name its counts (memory_queue.QueueCounts)."""
        return self._control("stats", None)

    def _control(self, command: str, request: dict[str, Any] | None) -> dict[str, Any]:
        data = None if request is None else json.dumps(request).encode()
        with urllib.request.urlopen(urllib.request.Request(self.url + CONTROL + command, data=data), timeout=30) as r:
            answer: dict[str, Any] = json.loads(r.read())
        return answer

    def _close_clients(self) -> None:
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients = {}


class MemoryAws(_Endpoint):
    """The endpoint on a thread of this process."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency_seconds: float = 0.0) -> None:
        super().__init__()
        self._address = (host, port)
        self._latency_seconds = latency_seconds
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> MemoryAws:
        self._server = _Server(self._address, latency_seconds=self._latency_seconds)
        self.url = self._server.url
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="memory-aws", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and end every long poll."""
        self._close_clients()
        if self._server is None or self._thread is None:
            return
        self._server.close_queues()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_SECONDS)
        self._server = self._thread = None

    def __enter__(self) -> MemoryAws:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class MemoryAwsProcess(_Endpoint):
    """The endpoint in a process of its own (`python -m tests.support.memory_aws`), stopped by its pid."""

    def __init__(self, *, latency_seconds: float = 0.0) -> None:
        super().__init__()
        self._latency_seconds = latency_seconds
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def start(self) -> MemoryAwsProcess:
        """Start the process and wait (up to START_SECONDS) for the URL it prints."""
        command = [sys.executable, "-m", "tests.support.memory_aws", "--latency-ms", str(self._latency_seconds * 1000)]
        self._process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        try:
            self.url = self._read_url()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_url(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], START_SECONDS)
        line = self._process.stdout.readline().decode().strip() if ready else ""
        if not line.startswith("http://"):
            raise RuntimeError(f"the in-memory endpoint did not start within {START_SECONDS:.0f} s (got {line!r})")
        return line

    def stop(self) -> None:
        """SIGTERM by pid; SIGKILL when it has not exited after STOP_SECONDS."""
        self._close_clients()
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_SECONDS)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    def __enter__(self) -> MemoryAwsProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="In-memory S3 + SQS endpoint; prints its URL, serves until SIGTERM")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="sleep before answering each S3/SQS request")
    args = parser.parse_args(argv)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    endpoint = MemoryAws(host=args.host, port=args.port, latency_seconds=args.latency_ms / 1000).start()
    print(endpoint.url, flush=True)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
