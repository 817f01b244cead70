"""What one object may cost the InputProcess (`inputs.sqs_collector.limits`).

Every limit ends in one clear outcome: past an object limit the object fails permanently with one log line naming
the limit (the message then goes to the queue's dead-letter policy); past a record limit the record is counted as
malformed and skipped, and the rest of the object is delivered. `devo_sqs.config.sizing` turns these into the
worst-case memory of each process.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

KiB = 1 << 10
MiB = 1 << 20
DECODED_CHUNK_BYTES = 256 * KiB  # decompressed bytes at a time: small enough to stay in cache, large enough to be cheap
COMPRESSED_READ_BYTES = 256 * KiB  # stored bytes read at a time


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_expansion_ratio: int = Field(
        500,
        ge=1,
        description="decoded bytes per stored byte of an object, at most (for parquet: bytes of the records made), "
        "each record also counting the 32 bytes of its frame; repetitive logs gzip to ~100x, decompression bombs "
        "reach 1,000x-1,000,000x; past it the object fails",
    )
    expansion_floor_bytes: int = Field(
        4 * MiB, ge=0, description="decoded bytes any object may reach, however small it is stored"
    )
    max_record_bytes: int = Field(
        512 * KiB, ge=1 * KiB, le=64 * MiB, description="a longer record (line, JSON value, event, row) is malformed"
    )
    whole_document_bytes: int = Field(
        512 * KiB,
        ge=0,
        le=64 * MiB,
        description="a JSON document (CloudTrail `Records`, a JSON array) up to this size is parsed in one call; "
        "a larger one is streamed record by record",
    )
    max_body_bytes: int = Field(
        512 * KiB,
        ge=1 * KiB,
        le=64 * MiB,
        description="direct mode: a larger message body (or dict_processor object) is malformed",
    )
    records_per_run: int = Field(
        5000, ge=1, le=100_000, description="records one block, line or document yields before they are handed on"
    )
    parquet_slice_bytes: int = Field(
        512 * KiB,
        ge=64 * KiB,
        le=64 * MiB,
        description="parquet rows are turned into records this many bytes at a time (by the size of their values)",
    )

    def expansion_limit(self, stored_bytes: int) -> int:
        """Decoded bytes an object stored in `stored_bytes` may reach."""
        return max(self.expansion_floor_bytes, self.max_expansion_ratio * stored_bytes)


DEFAULT_LIMITS = Limits()
