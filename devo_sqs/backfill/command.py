"""`devo-sqs backfill`: list a bucket (narrowed to the window), and announce each selected object to the input's
queue as an S3 event, so the running collectors - however many - take it with the same services, delivery state
and guarantees as live data. Resumable from its checkpoint; SIGTERM / Ctrl-C stop after the batch in flight.

Exit codes: 0 finished (or already finished, or a dry run), 1 stopped or failed (run it again to continue),
2 invalid configuration or arguments.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs import logs
from devo_sqs.backfill.announcer import Announcer
from devo_sqs.backfill.checkpoint import FOLDER, Checkpoint, checkpoint_path
from devo_sqs.backfill.lister import Lister, Selected, UnitEnd
from devo_sqs.backfill.progress import ProgressReporter, Snapshot, human_bytes
from devo_sqs.backfill.report import Tally, summary
from devo_sqs.backfill.request import BackfillRequest
from devo_sqs.backfill.selection import Selector
from devo_sqs.backfill.sending import BatchSender, RateLimiter
from devo_sqs.backfill.walk import Node, roots
from devo_sqs.backfill.workers import WalkThreads
from devo_sqs.config.models import QUEUE_URL, CollectorConfig, SqsInput
from devo_sqs.config.server_mode import load_config_source
from devo_sqs.errors import BackfillError, ConfigError
from devo_sqs.ingest.aws import client, make_session
from devo_sqs.processing.services import ServiceRouter

log = logging.getLogger("devo_sqs.backfill")

LISTING_THREADS = 8
WAITING_MAX = 20_000  # objects listed and not sent yet, at most (a few hundred bytes each)
STOP_SECONDS = 10.0
DRY_RUN_REPORT_SECONDS = 10.0


def run_backfill(request: BackfillRequest) -> int:
    config, _ = load_config_source(request.config)
    spec = _input(config.inputs.sqs_collector, request.queue_url)
    selector = Selector(ServiceRouter.for_input(spec), window=request.window, key_regex=request.key_regex)
    logs.configure_stderr(debug=config.globals.debug)
    try:
        session = make_session(spec)  # assumes the configured roles, if any
    except (ClientError, BotoCoreError) as exc:
        log.error("AWS credentials of inputs.sqs_collector: %s", exc)
        return 1
    s3 = client(session, "s3", spec)
    if request.dry_run:
        return _dry_run(request, s3=s3, selector=selector)
    path = checkpoint_path(_state_dir(request, config), request.identity(spec.base_url))
    try:
        checkpoint = Checkpoint(path, request.identity(spec.base_url))
    except BackfillError as exc:
        log.error("%s", exc)
        return 1
    try:
        if checkpoint.finished_at is not None:
            print(_already_finished(checkpoint, spec.base_url))
            return 0
        run = BackfillRun(request, s3=s3, sqs=client(session, "sqs", spec), spec=spec, selector=selector)
        return run.execute(checkpoint)
    finally:
        checkpoint.close()


class BackfillRun:
    """The listing threads and the sender (this thread) of one run, and what it tells the operator."""

    def __init__(self, request: BackfillRequest, *, s3: Any, sqs: Any, spec: SqsInput, selector: Selector) -> None:
        self._request = request
        self._s3 = s3
        self._sqs = sqs
        self._spec = spec
        self._selector = selector
        self._stop = threading.Event()
        self._tally = Tally()
        self._items: queue.Queue[Selected | UnitEnd] = queue.Queue(maxsize=WAITING_MAX)
        self._started = time.monotonic()

    def execute(self, checkpoint: Checkpoint) -> int:
        self._announce_start(checkpoint)
        walk = self._walk(checkpoint)
        reporter = ProgressReporter(lambda: self._snapshot(walk), stream=sys.stderr)
        announcer = self._announcer(checkpoint, walk, reporter)
        failure: BaseException | None = None
        with _stop_on_signals(self._stop):
            walk.start()
            try:
                completed = announcer.run()
            except BackfillError as exc:
                completed, failure = False, exc
            finally:
                self._stop.set()
                walk.stop()
                walk.join(STOP_SECONDS)
                reporter.close()
        failure = failure or walk.error
        return self._conclude(checkpoint, completed=completed and failure is None, failure=failure)

    def _announce_start(self, checkpoint: Checkpoint) -> None:
        request = self._request
        log.info(
            "Backfill s3://%s (%s) -> %s; checkpoint %s",
            request.bucket, _scope(request), self._spec.base_url, checkpoint.path,
        )  # fmt: skip
        if checkpoint.objects or checkpoint.done:
            log.info(
                "Resuming: %d object(s) (%s) sent by earlier runs, %d listing(s) complete",
                checkpoint.objects, human_bytes(checkpoint.bytes), len(checkpoint.done),
            )  # fmt: skip

    def _walk(self, checkpoint: Checkpoint) -> WalkThreads[Node]:
        request = self._request
        lister = Lister(
            self._s3, request.bucket, window=request.window, selector=self._selector, tally=self._tally,
            take=self._take, start_after=checkpoint.start_after, done=checkpoint.done.__contains__, stop=self._stop,
        )  # fmt: skip
        return WalkThreads(roots(list(request.prefixes), request.window), handle=lister.handle, threads=LISTING_THREADS)

    def _announcer(self, checkpoint: Checkpoint, walk: WalkThreads[Node], reporter: ProgressReporter) -> Announcer:
        return Announcer(
            self._items, bucket=self._request.bucket, region=self._spec.queue_region,
            sender=BatchSender(self._sqs, self._spec.base_url, stop=self._stop),
            limiter=RateLimiter(self._request.rate), checkpoint=checkpoint, tally=self._tally,
            listing_finished=lambda: walk.finished or walk.error is not None, tick=reporter.tick, stop=self._stop,
        )  # fmt: skip

    def _take(self, item: Selected | UnitEnd) -> bool:
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _snapshot(self, walk: WalkThreads[Node]) -> Snapshot:
        sent, sent_bytes = self._tally.total_sent
        return Snapshot(
            sent=sent,
            sent_bytes=sent_bytes,
            known=self._tally.queued_objects,
            known_bytes=self._tally.queued_bytes,
            listing_done=walk.finished,
            elapsed=time.monotonic() - self._started,
        )

    def _conclude(self, checkpoint: Checkpoint, *, completed: bool, failure: BaseException | None) -> int:
        if failure is not None:
            log.error("%s", failure)
        print(summary(self._tally, dry_run=False))
        sent, _ = self._tally.total_sent
        done = f"{sent:,} object(s) sent by this run, {checkpoint.objects:,} object(s), {human_bytes(checkpoint.bytes)}"
        if completed:
            checkpoint.finish()
            print(f"Backfill finished: {done} in all, to {self._spec.base_url}.")
            return 0
        how = "failed (see the error above)" if failure is not None else "stopped"
        print(f"Backfill {how}: {done} in all; the same command continues it (checkpoint {checkpoint.path}).")
        return 1


def _dry_run(request: BackfillRequest, *, s3: Any, selector: Selector) -> int:
    tally = Tally()

    def count(item: Selected | UnitEnd) -> bool:
        if isinstance(item, Selected):
            tally.sent(item.service, item.obj)
        return True

    stop = threading.Event()
    lister = Lister(s3, request.bucket, window=request.window, selector=selector, tally=tally, take=count, stop=stop)
    walk: WalkThreads[Node] = WalkThreads(
        roots(list(request.prefixes), request.window), handle=lister.handle, threads=LISTING_THREADS
    )
    walk.start()
    while not walk.join(DRY_RUN_REPORT_SECONDS):
        log.info("Dry run: %d object(s) listed so far", tally.listed)
    if walk.error is not None:
        log.error("%s", walk.error)
        return 1
    print(f"Dry run: s3://{request.bucket} ({_scope(request)}); nothing sent.")
    print(summary(tally, dry_run=True))
    return 0


def _input(spec: SqsInput, queue_url: str | None) -> SqsInput:
    problems = []
    if spec.direct_mode:
        problems.append("inputs.sqs_collector.direct_mode: a backfill announces S3 objects; this input reads none")
    if queue_url is not None and not QUEUE_URL.match(queue_url):
        problems.append(
            f"--queue-url: {queue_url!r} is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)"
        )
    if problems:
        raise ConfigError(problems)
    return spec if queue_url is None else spec.model_copy(update={"base_url": queue_url})


def _state_dir(request: BackfillRequest, config: CollectorConfig) -> Path:
    if request.state_dir is not None:
        return Path(request.state_dir)
    return Path(config.globals.persistence.config.directory_name) / FOLDER


def _scope(request: BackfillRequest) -> str:
    prefixes = ", ".join(request.prefixes) if request.prefixes else "the whole bucket"
    regex = f", keys matching {request.key_regex.pattern!r}" if request.key_regex else ""
    return f"{prefixes}, {request.window.describe()}{regex}"


def _already_finished(checkpoint: Checkpoint, queue_url: str) -> str:
    return (
        f"Backfill already finished at {checkpoint.finished_at}: {checkpoint.objects:,} object(s) "
        f"({human_bytes(checkpoint.bytes)}) sent to {queue_url}. Nothing to send; "
        f"remove {checkpoint.path} to send them all again."
    )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT stop after the batch in flight (its checkpoint written); a second one ends at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("Signal %d: stopping after the batch in flight", signum)
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
