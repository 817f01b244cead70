"""Open S3 objects as streams, say which content each GET returned, and sort AWS failures into retryable and
permanent ones."""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any, NamedTuple, cast

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from urllib3.exceptions import HTTPError

from devo_sqs.errors import AccessError, ObjectError, PermanentObjectError, RetryableObjectError
from devo_sqs.messages import ObjectIdentity, ObjectRef
from devo_sqs.streams import WrappedStream

PERMANENT_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "InvalidObjectState", "NoSuchVersion", "404"})
ACCESS_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "403"})


class OpenedObject(NamedTuple):
    identity: ObjectIdentity  # the content this GET returned, whatever the notification said
    body: IO[bytes]  # streamed, never read whole


def open_object(s3: Any, ref: ObjectRef) -> OpenedObject:
    """GET the object. When the decoded key does not exist but the notification spelled it differently, the
    spelling as sent is tried too."""
    key = ref.key
    try:
        response = _get(s3, ref, key)
    except PermanentObjectError as exc:
        if ref.raw_key is None or exc.reason != "NoSuchKey":
            raise
        key = ref.raw_key
        response = _get(s3, ref, key)
    return OpenedObject(
        identity_of(response, bucket=ref.bucket, key=key), cast(IO[bytes], GuardedBody(response["Body"], ref))
    )


def identity_of(response: dict[str, Any], *, bucket: str, key: str) -> ObjectIdentity:
    """Which content a GET (or HEAD) response describes."""
    modified = response.get("LastModified")
    return ObjectIdentity(
        bucket=bucket,
        key=key,
        size=int(response.get("ContentLength") or 0),
        etag=str(response.get("ETag") or "").strip('"') or None,
        version_id=response.get("VersionId"),
        last_modified=modified.isoformat() if isinstance(modified, datetime) else None,
    )


def _get(s3: Any, ref: ObjectRef, key: str) -> dict[str, Any]:
    arguments = {"Bucket": ref.bucket, "Key": key}
    if ref.version_id:
        arguments["VersionId"] = ref.version_id
    try:
        response: dict[str, Any] = s3.get_object(**arguments)
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc, ref) from exc
    return response


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
