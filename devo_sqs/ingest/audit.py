"""`send_md5_message`: after an object completes, one audit event to `my.app.sqs_collector.files` with the
object's identity, the MD5 and size of its bytes as stored, and what became of its records."""

from __future__ import annotations

import hashlib
from typing import IO

import orjson

from devo_sqs.messages import ObjectRef
from devo_sqs.processing.records import ObjectContext
from devo_sqs.streams import WrappedStream

AUDIT_TAG = "my.app.sqs_collector.files"


class HashingReader(WrappedStream):
    """Counts and MD5-hashes the object's bytes as they are read."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(raw)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.md5.update(data)
        self.size += len(data)
        return data

    def finish(self) -> None:
        """Read what the processor left unread, so the digest covers the whole object."""
        while self.read(1 << 20):
            pass


def audit_event(ref: ObjectRef, audited: HashingReader, ctx: ObjectContext, *, service: str) -> bytes:
    stats = ctx.stats
    return orjson.dumps(
        {
            "bucket": ref.bucket,
            "key": ref.key,
            "etag": (ref.etag or "").strip('"'),
            "md5": audited.md5.hexdigest(),
            "size": audited.size,
            "service": service,
            "records": stats.records,
            "sent": stats.sent,
            "filtered": stats.filtered,
            "failed": stats.failed,
        }
    )
