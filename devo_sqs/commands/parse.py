"""`devo-sqs parse`: a service's whole pipeline on local files, without AWS.

Prints `tag<TAB>message` per record (newlines inside a message shown as `\\n`), or with `--summary` a JSON
object of per-tag counts. Per-file statistics go to stderr. Exit 1 when a file could not be decoded.
Without `--service` (with `--config`), each file goes to the service the collector would choose for its key.
`[sqs-region]` and `[sqs-account]` come from `--queue-url`, else the configuration's queue; with neither they
are unknown and render as `null`, as any unset variable does.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import BinaryIO

import orjson

from devo_sqs.config.loader import load_config, parse_config
from devo_sqs.config.models import QUEUE_URL, SqsInput
from devo_sqs.errors import ConfigError, ObjectError
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.records import ObjectContext
from devo_sqs.processing.services import ServiceRouter

LOCAL_QUEUE = "https://sqs.local.amazonaws.com/000000000000/local"


def parse_files(
    *,
    config_path: str | None,
    service: str | None,
    key: str | None,
    files: list[str],
    summary: bool,
    queue_url: str | None = None,
) -> int:
    router = _router(config_path, service, queue_url)
    counts: Counter[str] = Counter()
    out = sys.stdout.buffer
    failures = 0
    for path in files:
        object_key = key or path
        pipeline = router.pipeline_for(object_key) if service is None else router.pipeline_named(service, object_key)
        if pipeline is None:
            claims = "no service claims" if service is None else f"{service} has no dispatch rule for"
            print(f"{path}: {claims} key {object_key!r}; skipped", file=sys.stderr)
            continue
        if pipeline.skips(object_key):
            print(f"{path}: skipped by {pipeline.name} filename_filter_rules", file=sys.stderr)
            continue
        failures += not _parse_one(pipeline, path, object_key, counts, None if summary else out)
    if summary:
        out.write(orjson.dumps(dict(sorted(counts.items()))) + b"\n")
    out.flush()
    return 1 if failures else 0


def _parse_one(pipeline: ServicePipeline, path: str, key: str, counts: Counter[str], out: BinaryIO | None) -> bool:
    ctx = ObjectContext(source=path)
    try:
        with open(path, "rb") as stream:
            for tag, messages in pipeline.run(stream, key, ctx, stored_bytes=os.fstat(stream.fileno()).st_size):
                counts[tag] += len(messages)
                if out is not None:
                    prefix = tag.encode() + b"\t"
                    out.write(b"".join(prefix + _one_line(message) + b"\n" for message in messages))
    except (ObjectError, OSError) as exc:
        print(f"{path}: ERROR {exc} ({ctx.summary()})", file=sys.stderr)
        return False
    print(f"{path}: {pipeline.name}: {ctx.summary()}", file=sys.stderr)
    return True


def _one_line(message: bytes) -> bytes:
    return message.replace(b"\n", b"\\n").replace(b"\r", b"\\r") if b"\n" in message or b"\r" in message else message


def _router(config_path: str | None, service: str | None, queue_url: str | None) -> ServiceRouter:
    if queue_url is not None and not QUEUE_URL.match(queue_url):
        raise ConfigError(
            [f"--queue-url: {queue_url!r} is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)"]
        )
    if service is None and config_path is None:
        raise ConfigError(["--service is required without --config"])
    spec = _input(config_path, service)
    if service is not None and service not in spec.services:
        raise ConfigError(
            [f"--service: {service!r} is not a service of the configuration; known: {', '.join(spec.services)}"]
        )
    if queue_url is not None:
        spec = spec.model_copy(update={"base_url": queue_url, "region": None})
    elif config_path is None:
        return ServiceRouter(spec.services, sqs_values={}, limits=spec.limits)  # no queue: region, account unknown
    return ServiceRouter.for_input(spec)


def _input(config_path: str | None, service: str | None) -> SqsInput:
    if config_path:
        return load_config(config_path).inputs.sqs_collector
    config = parse_config(
        {"inputs": {"sqs_collector": {"id": "parse", "base_url": LOCAL_QUEUE, "services": {service: {}}}}}
    )
    return config.inputs.sqs_collector
