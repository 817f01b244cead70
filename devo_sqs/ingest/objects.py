"""Open S3 objects as streams, and sort AWS failures into retryable and permanent ones."""

from __future__ import annotations

from typing import IO, Any, cast

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from urllib3.exceptions import HTTPError

from devo_sqs.errors import AccessError, ObjectError, PermanentObjectError, RetryableObjectError
from devo_sqs.messages import ObjectRef
from devo_sqs.streams import WrappedStream

PERMANENT_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "InvalidObjectState", "NoSuchVersion", "404"})
ACCESS_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "403"})


def open_object(s3: Any, ref: ObjectRef) -> IO[bytes]:
    """The object's body as a stream (never read whole). When the decoded key does not exist but the
    notification spelled it differently, the spelling as sent is tried too."""
    try:
        body = _get(s3, ref, ref.key)
    except PermanentObjectError as exc:
        if ref.raw_key is None or exc.reason != "NoSuchKey":
            raise
        body = _get(s3, ref, ref.raw_key)
    return cast(IO[bytes], GuardedBody(body, ref))


def _get(s3: Any, ref: ObjectRef, key: str) -> Any:
    arguments = {"Bucket": ref.bucket, "Key": key}
    if ref.version_id:
        arguments["VersionId"] = ref.version_id
    try:
        return s3.get_object(**arguments)["Body"]
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc, ref) from exc


class GuardedBody(WrappedStream):
    """An S3 body whose network failures surface as RetryableObjectError, so decoders (which treat
    OSError as corrupt content) never mistake a dropped connection for a corrupt object."""

    def __init__(self, body: Any, ref: ObjectRef) -> None:
        super().__init__(body)
        self._ref = ref

    def read(self, size: int | None = -1) -> bytes:
        try:
            return super().read(size)
        except (BotoCoreError, HTTPError, OSError) as exc:
            raise classify(exc, self._ref) from exc


def classify(exc: Exception, ref: ObjectRef) -> ObjectError:
    """NoSuchKey and the like, and requests botocore refuses to build (a crafted bucket name), are permanent;
    access and KMS errors are access errors (see settlement.classify); throttling, 5xx and network errors are
    retryable."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in PERMANENT_CODES:
            return PermanentObjectError(code, bucket=ref.bucket, key=ref.key)
        if code in ACCESS_CODES or code.startswith("KMS."):
            return AccessError(code, bucket=ref.bucket, key=ref.key)
        return RetryableObjectError(code or str(exc), bucket=ref.bucket, key=ref.key)
    if isinstance(exc, ParamValidationError):
        return PermanentObjectError(f"invalid request: {exc}", bucket=ref.bucket, key=ref.key)
    return RetryableObjectError(f"{type(exc).__name__}: {exc}", bucket=ref.bucket, key=ref.key)
