"""Typed, strict configuration: unknown keys are rejected, ranges checked, every field documented."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from devo_sqs.config.files import CHECK_FILES, unreadable_file
from devo_sqs.config.limits import Limits
from devo_sqs.config.processors import FileFormat, KeyPath


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ----------------------------------------------------------------------------- globals


class PersistenceLocation(Strict):
    directory_name: str = Field("state", min_length=1, description="state directory (spool + delivery state)")


class Persistence(Strict):
    type: Literal["filesystem"] = "filesystem"
    config: PersistenceLocation = Field(default_factory=PersistenceLocation)


BATCH_MAX_MB = 8
HANDOVER_BATCHES = 32  # batches the hand-over budget holds: two for each of the 16 pullers an unset puller_threads runs


class Globals(Strict):
    debug: bool = Field(False, validation_alias=AliasChoices("debug", "debug_status"), description="DEBUG logs")
    id: str = Field("devo-sqs", description="collector identity, shown in internal events")
    name: str = Field("devo-sqs", description="collector name, shown in internal events")
    persistence: Persistence = Field(default_factory=Persistence)
    queue_max_size_in_messages: int = Field(
        100_000, ge=100, description="records waiting between the input and the output process, at most"
    )
    queue_max_size_in_mb: int = Field(
        32,
        ge=1,
        description="bytes of batches handed to the output process and not yet settled, at most (the hand-over "
        "budget); a batch holds at most 1/32 of it (1 to 8 MiB)",
    )
    queue_max_elapsed_time_in_sec: float = Field(
        1.0, gt=0, le=60, description="a partly filled batch is sent after this long"
    )
    queue_wrap_max_size_in_messages: int = Field(
        20_000, ge=1, description="records per batch, at most (a batch also holds at most batch_max_bytes)"
    )
    sender_stats_period_in_sec: int = Field(600, ge=60, le=1800)
    gc_period_in_sec: int = Field(300, ge=1)
    spool_max_size_in_mb: int = Field(1024, ge=1, description="emergency persistence bound on disk")
    metrics_port: int | None = Field(None, ge=0, le=65535, description="serve Prometheus /metrics here (opt-in)")
    metrics_address: str = Field(
        "0.0.0.0", min_length=1, description="interface /metrics listens on; default all, so Prometheus can scrape"
    )

    @property
    def batch_max_bytes(self) -> int:
        """Batches are cut by records or bytes: small records make big batches, big ones no huge batches. The
        hand-over budget holds HANDOVER_BATCHES of them, 1 to 8 MiB each (see config/sizing.py)."""
        share = (self.queue_max_size_in_mb << 20) // HANDOVER_BATCHES
        return min(BATCH_MAX_MB << 20, max(1 << 20, share))

    @property
    def queue_slots(self) -> int:
        """Batches the inter-process queue holds: within both the records and the bytes bound."""
        by_records = self.queue_max_size_in_messages // self.queue_wrap_max_size_in_messages
        by_bytes = (self.queue_max_size_in_mb << 20) // self.batch_max_bytes
        return max(2, min(by_records, by_bytes))


# ----------------------------------------------------------------------------- outputs


class ConsoleOutput(Strict):
    type: Literal["console"]


class _NetworkOutput(Strict):
    address: str = Field(min_length=1)
    chain: str | None = Field(None, description="CA chain (PEM) that signs the server certificate")
    cert: str | None = Field(None, description="client certificate (PEM) for mutual TLS")
    key: str | None = Field(None, description="client key (PEM) for mutual TLS")
    concurrent_connections: int = Field(1, ge=1, le=32)
    connection_max_age_in_sec: int = Field(3600, ge=1, description="recycle a connection after this long")
    spool_after_in_sec: float = Field(
        10.0, ge=0, description="retry a failing output this long, then keep batches in emergency persistence"
    )

    @model_validator(mode="after")
    def _files_usable(self, info: ValidationInfo) -> _NetworkOutput:
        """The files it needs are named and, where the collector runs (`validate`, `run`; not `parse` or
        `health`, which may read another host's config), every named file is readable."""
        missing = self._missing_files()
        problems = [_problem((), missing, None)] if missing else []
        if info.context and info.context.get(CHECK_FILES):
            problems += [
                _problem((name,), reason, path)
                for name in TLS_FILES
                if (path := getattr(self, name)) and (reason := unreadable_file(path))
            ]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    def _missing_files(self) -> str | None:
        """Why a file this output needs is not named; None when nothing is missing."""
        return None

    @property
    def uses_tls(self) -> bool:
        return bool(self.chain or self.cert)


TLS_FILES = ("chain", "cert", "key")


class _StreamOutput(_NetworkOutput):
    """Plain syslog over TCP or TLS: no acknowledgements in the protocol, so a replay window (see README)."""

    multiline: bool = Field(False, description="always use octet counting (LEN SP FRAME)")
    replay_window_bytes: int = Field(
        16 << 20, ge=0, description="acknowledged bytes kept to send again after an abnormal close (0: none)"
    )
    replay_window_seconds: float = Field(
        5.0, ge=0, description="how long acknowledged batches are kept to send again after an abnormal close"
    )


class SyslogOutput(_StreamOutput):
    type: Literal["relay", "syslog"]
    port: int = Field(ge=1, le=65535)
    tls: bool | None = Field(None, description="force TLS on/off; default: on when chain or cert is given")

    @property
    def uses_tls(self) -> bool:
        return self.tls if self.tls is not None else bool(self.chain or self.cert)


class DevoOutput(_StreamOutput):
    type: Literal["devo_platform"]
    address: str = "collector-eu.devo.io"
    port: int = Field(443, ge=1, le=65535)

    def _missing_files(self) -> str | None:
        missing = [name for name in TLS_FILES if not getattr(self, name)]
        return (
            f"devo_platform needs chain, cert and key for mutual TLS; missing: {', '.join(missing)}"
            if missing
            else None
        )


RELP_WINDOW_FRAMES = 1024  # librelp's own client uses 128; see README "RELP" for what larger windows gain


class RelpOutput(_NetworkOutput):
    """RELP (rsyslog's imrelp): the relay acknowledges every frame; a batch is delivered once all its frames are."""

    type: Literal["relp"]
    port: int = Field(ge=1, le=65535)
    tls: bool | None = Field(None, description="force TLS on/off; default: on when chain or cert is given")
    window_size_in_frames: int = Field(
        RELP_WINDOW_FRAMES,
        ge=1,
        le=65_536,
        description="frames written and not yet acknowledged, at most, per connection",
    )

    @property
    def uses_tls(self) -> bool:
        return self.tls if self.tls is not None else bool(self.chain or self.cert)


Output = Annotated[ConsoleOutput | SyslogOutput | DevoOutput | RelpOutput, Field(discriminator="type")]


# ----------------------------------------------------------------------------- services


class SplitOp(Strict):
    operator: Literal["split"]
    on: str = Field(min_length=1)
    element: int


class ReplaceOp(Strict):
    operator: Literal["replace"]
    to_replace: str = Field(min_length=1)
    replace_with: str = ""


Operation = Annotated[SplitOp | ReplaceOp, Field(discriminator="operator")]


class FilenameRule(Strict):
    type: Literal["match", "doesnotmatch", "regex"]
    pattern: str

    @model_validator(mode="after")
    def _regex_compiles(self) -> FilenameRule:
        if self.type == "regex":
            _check_regex(self.pattern)
        return self


class RecordMapping(Strict):
    keys: KeyPath = Field(min_length=1, description="path into the record; ints index lists")
    fallback_keys: list[KeyPath] = Field(default_factory=list, description="paths tried in turn when `keys` is missing")
    operations: list[Operation] = Field(default_factory=list)


class LineRule(Strict):
    source: Literal["record", "file"]
    key: str
    type: Literal["match", "doesnotmatch", "regex", "contains", "in"]
    value: str | int | float | bool | list[str | int | float | bool]

    @model_validator(mode="after")
    def _value_fits_type(self) -> LineRule:
        if self.type == "in" and not isinstance(self.value, list):
            raise ValueError("type 'in' needs a list value")
        if self.type != "in" and isinstance(self.value, list):
            raise ValueError(f"type {self.type!r} needs a single value, not a list")
        if self.type == "regex":
            _check_regex(str(self.value))
        return self


class DispatchRule(Strict):
    key_pattern: str = Field(description="regex searched in the object key")
    service: str = Field(description="predefined service that handles matching objects")

    @field_validator("key_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        return _check_regex(pattern)


Encoding = Literal["gzip", "none", "parquet", "zstd", "bz2", "auto"]

PLACEHOLDER = re.compile(r"\[(record|file|sqs)-([A-Za-z0-9_]+)\]")
TAG_LITERAL = re.compile(r"^[A-Za-z0-9_.-]*$")


class Service(Strict):
    """One named bundle of pipeline options; predefined definitions are merged in before validation."""

    key_pattern: str | None = Field(None, description="regex searched in the key; the first service matching wins")
    encoding: Encoding = "auto"
    charset: str = "utf-8"
    file_format: FileFormat | None = None
    filename_filter_rules: list[list[FilenameRule]] = Field(default_factory=list)
    file_field_definitions: dict[str, list[Operation]] = Field(default_factory=dict)
    record_field_mapping: dict[str, RecordMapping] = Field(default_factory=dict)
    line_filter_rules: list[list[LineRule]] = Field(default_factory=list)
    routing_template: str | None = None
    send_filtered_out_to_unknown: bool = False
    send_md5_message: bool = False
    dispatch: list[DispatchRule] = Field(default_factory=list, description="hand objects to other services by key")

    @field_validator("key_pattern")
    @classmethod
    def _key_pattern_compiles(cls, pattern: str | None) -> str | None:
        return None if pattern is None else _check_regex(pattern)

    @field_validator("charset")
    @classmethod
    def _known_codec(cls, charset: str) -> str:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise ValueError(f"unknown charset {charset!r}") from None
        return charset

    @model_validator(mode="after")
    def _complete(self) -> Service:
        """Checks across fields, reported together: a tag can be made, the stream split, every filter key is
        a defined variable (a rule on an undefined one sees only null: `doesnotmatch` would drop every record
        and `match` none, silently)."""
        if self.dispatch:
            return self._only_dispatch()
        problems = [_problem((), reason, None) for reason in self._incomplete()]
        problems += [
            _problem(("line_filter_rules", outer, inner, "key"), reason, rule.key)
            for outer, group in enumerate(self.line_filter_rules)
            for inner, rule in enumerate(group)
            if (reason := self._undefined_variable(rule))
        ]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    def _incomplete(self) -> Iterator[str]:
        if self.routing_template is None:
            yield "routing_template is required"
        else:
            try:
                _check_template(self.routing_template, self)
            except ValueError as exc:
                yield str(exc)
        if self.file_format is None and self.encoding != "parquet":
            yield "file_format is required (unless encoding is parquet)"

    def _undefined_variable(self, rule: LineRule) -> str | None:
        """Why `rule.key` names no variable of its source; None when it does."""
        defined: Mapping[str, object]
        if rule.source == "record":
            defined, where = self.record_field_mapping, "record_field_mapping"
        else:
            defined, where = self.file_field_definitions, "file_field_definitions"
        if rule.key in defined:
            return None
        known = f"defined: {', '.join(defined)}" if defined else "none defined"
        return f"{rule.source} variable {rule.key!r} is not defined in {where} ({known})"

    def _only_dispatch(self) -> Service:
        """A dispatching service hands each object to a predefined definition: its own pipeline keys would be
        ignored, so setting one is a mistake."""
        ignored = sorted(self.model_fields_set - DISPATCH_KEYS, key=list(Service.model_fields).index)
        if ignored:
            reason = "does not apply to a dispatching service (each object takes the definition its dispatch names)"
            problems = [_problem((name,), reason, getattr(self, name)) for name in ignored]
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


DISPATCH_KEYS = frozenset({"key_pattern", "dispatch"})


def _problem(loc: tuple[str | int, ...], reason: str, value: object) -> InitErrorDetails:
    """One problem at a path below the model that finds it (reported like any field error)."""
    return InitErrorDetails(type=PydanticCustomError("config", "{reason}", {"reason": reason}), loc=loc, input=value)


def _check_template(template: str, service: Service) -> None:
    known = {"record": set(service.record_field_mapping), "file": set(service.file_field_definitions)}
    for match in PLACEHOLDER.finditer(template):
        source, name = match.groups()
        if source == "sqs" and name not in ("region", "account"):
            raise ValueError(f"routing_template: unknown placeholder {match.group(0)}; sqs- has region, account")
        if source != "sqs" and name not in known[source]:
            where = "record_field_mapping" if source == "record" else "file_field_definitions"
            raise ValueError(f"routing_template: {match.group(0)} is not defined in {where}")
    literal = PLACEHOLDER.sub("x", template)
    if not TAG_LITERAL.match(literal):
        raise ValueError(f"routing_template {template!r}: only [A-Za-z0-9_-], dots and placeholders are allowed")
    levels = literal.split(".")
    if len(levels) < 2 or any(not level for level in levels):
        raise ValueError(f"routing_template {template!r} must give at least 2 non-empty dot-separated levels")


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
    return pattern


# ----------------------------------------------------------------------------- inputs


class Credentials(Strict):
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_base_account_role: str | None = Field(None, description="role assumed first (ARN)")
    aws_cross_account_role: str | None = Field(None, description="role assumed from the base role (ARN)")
    aws_external_id: SecretStr | None = None

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> Credentials:
        if bool(self.aws_access_key_id) != bool(self.aws_secret_access_key):
            raise ValueError("aws_access_key_id and aws_secret_access_key go together")
        return self


BUCKET_NAME = re.compile(r"^[A-Za-z0-9._-]{3,255}$")


def _bucket_name(name: str) -> str:
    if not BUCKET_NAME.match(name):
        raise ValueError(f"{name!r} is not an S3 bucket name (the name alone, as in s3://NAME/key)")
    return name


MAX_PULLERS = 16
QUEUE_URL = re.compile(r"^https?://[^/]+/(?P<account>[0-9A-Za-z_-]+)/(?P<queue>[A-Za-z0-9_.-]+)/?$")


class SqsInput(Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = Field(description="names the state namespace")
    enabled: bool = True
    base_url: str = Field(description="SQS queue URL")
    region: str | None = Field(None, description="AWS region; default: from the queue URL")
    endpoint_url: str | None = Field(None, description="override for S3 and SQS endpoints")
    credentials: Credentials = Field(default_factory=Credentials)
    sqs_visibility_timeout: int = Field(240, ge=10, le=43_200)
    sqs_wait_timeout: int = Field(20, ge=0, le=20)
    sqs_max_messages: int | None = Field(
        None, ge=1, le=10, description="messages per receive, at most; unset: adaptive, up to 10"
    )
    ack_messages: bool = True
    direct_mode: bool = False
    do_not_send: bool = False
    debug_mode: bool = False
    compressed_events: bool = False
    puller_threads: int | None = Field(
        None,
        ge=1,
        le=MAX_PULLERS,
        description=f"messages processed at once, at most; unset: adaptive, up to {MAX_PULLERS}",
    )
    max_receive_count: int = Field(5, ge=1, description="delete a failing message after this many receives")
    limits: Limits = Field(default_factory=Limits, description="what one object may cost (bounded memory)")
    batch_deadline_seconds: int | None = Field(
        None,
        ge=10,
        description="fail a batch not settled this long after its hand-over; default max(2 x visibility, 300)",
    )
    stall_seconds: int | None = Field(
        None,
        ge=10,
        description="health fails when nothing settles this long with messages in flight; default deadline + 60",
    )
    allowed_buckets: list[Annotated[str, AfterValidator(_bucket_name)]] | None = Field(
        None, description="notifications naming another bucket are permanent failures; unset: any bucket"
    )
    services: dict[str, Service] = Field(min_length=1)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("allowed_buckets")
    @classmethod
    def _some_bucket(cls, buckets: list[str] | None) -> list[str] | None:
        if buckets == []:
            raise ValueError("an empty list would refuse every notification; leave it out to accept any bucket")
        return buckets

    @field_validator("base_url")
    @classmethod
    def _queue_url(cls, url: str) -> str:
        if not QUEUE_URL.match(url):
            raise ValueError(f"{url!r} is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE)")
        return url

    @property
    def batch_deadline(self) -> int:
        return self.batch_deadline_seconds or max(2 * self.sqs_visibility_timeout, 300)

    @property
    def stall_limit(self) -> int:
        """Above the batch deadline, so health never fails a pod before the deadline has recovered the batch."""
        return self.stall_seconds or self.batch_deadline + 60

    @property
    def queue_account(self) -> str:
        match = QUEUE_URL.match(self.base_url)
        return match.group("account") if match else "null"

    @property
    def queue_region(self) -> str:
        if self.region:
            return self.region
        host = self.base_url.split("/")[2]
        parts = host.split(".")
        if len(parts) >= 3 and parts[0] == "sqs":
            return parts[1]
        if len(parts) >= 3 and parts[1] == "queue":
            return parts[0]
        return "us-east-1"


INPUT_NAME = "sqs_collector"


class Inputs(Strict):
    sqs_collector: SqsInput


def _console_only() -> dict[str, Output]:
    return {"console": ConsoleOutput(type="console")}


class CollectorConfig(Strict):
    globals: Globals = Field(default_factory=Globals)
    outputs: dict[str, Output] = Field(default_factory=_console_only, min_length=1, description="default: the console")
    inputs: Inputs
