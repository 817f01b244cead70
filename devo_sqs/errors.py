"""One small error tree. Errors carry the bucket/key/message id they concern, where known."""

from __future__ import annotations


class CollectorError(Exception):
    """Base of every error devo-sqs raises on purpose."""


class ConfigError(CollectorError):
    """The configuration is invalid; `problems` holds one `path: reason` line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class DecodeError(CollectorError):
    """A message crossing a process boundary could not be decoded."""


class ObjectError(CollectorError):
    """Processing one S3 object failed; the rest of the message may still proceed."""

    def __init__(self, reason: str, *, bucket: str = "", key: str = "", message_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.bucket = bucket
        self.key = key
        self.message_id = message_id

    def __str__(self) -> str:
        where = f"s3://{self.bucket}/{self.key}" if self.bucket else self.key
        parts = [
            self.reason,
            f"object={where}" if where else "",
            f"message_id={self.message_id}" if self.message_id else "",
        ]
        return " ".join(part for part in parts if part)


class PermanentObjectError(ObjectError):
    """Retrying cannot help (NoSuchKey, AccessDenied, undecodable content)."""


class RetryableObjectError(ObjectError):
    """A later attempt may succeed (throttling, 5xx, network)."""


class NotificationError(CollectorError):
    """An SQS message body is not a notification devo-sqs understands."""


class AccessError(ObjectError):
    """AccessDenied or a KMS key error: an operator can fix it (IAM, bucket or key policy)."""


class RetryableError(CollectorError):
    """A failure of delivery rather than of the message: a batch failed or was not settled in time, or the
    output process is gone. The message is collected again."""


class BackfillError(CollectorError):
    """A backfill cannot go on (listing or sending refused, checkpoint unusable); its checkpoint stays valid."""
