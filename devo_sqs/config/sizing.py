"""The worst-case memory of each process, from the configuration (as s3transfer's TransferConfig states its bounds).

Every buffer the collector holds is bounded by a setting; this adds them up:

    InputProcess  = baseline + hand-over budget + pullers x (2 x batch + decoding + (2 + F) x largest)
    OutputProcess = baseline + 2 x hand-over budget + sum over TCP/TLS outputs of (replay window
                    + connections x batch)

- pullers: `puller_threads`, or ADAPTIVE_PULLERS when it is unset. Each builds one batch at a time and keeps it,
  with its encoded copy, until the batch before it of the same message is settled and the hand-over budget has
  room (2 x batch, at least the largest record).
- decoding: one compressed read and one decompressed chunk.
- largest: the largest record, whole document, direct-mode body or parquet slice (limits), or a chunk: held as
  text, once more as its lines or JSON, and parsed into Python objects (F = PARSED_FACTOR times the text; only
  JSON made of empty objects and arrays parses larger, to ~24 times).
- hand-over budget: `queue_max_size_in_mb`, the batches handed over and not yet settled (the hand-over queue,
  the pipe, the output's channels, the batches written but not yet acknowledged); the output process holds each
  as received and as decoded or framed.
- baseline: each process idle, measured (Python, boto3 clients, pyarrow once a parquet object was read).
"""

from __future__ import annotations

from dataclasses import dataclass

from devo_sqs.config.limits import COMPRESSED_READ_BYTES, DECODED_CHUNK_BYTES, MiB
from devo_sqs.config.models import MAX_PULLERS, CollectorConfig, ConsoleOutput

ADAPTIVE_PULLERS = MAX_PULLERS  # puller threads at most when `puller_threads` is unset
PARSED_FACTOR = 10  # Python objects per byte of text parsed: CloudTrail 3.3, dense small objects 7, GuardDuty-like 10
TARGET_BYTES = 300 * MiB  # what the defaults keep every process under
BASELINE_INPUT_BYTES = 122 * MiB  # measured: 72 MiB idle, +50 MiB once pyarrow read a parquet object
BASELINE_OUTPUT_BYTES = 42 * MiB
BASELINE_PARENT_BYTES = 53 * MiB
OUTPUT_COPIES = 2


@dataclass(frozen=True)
class Sizing:
    pullers: int
    batch_bytes: int
    handover_bytes: int
    decoding_bytes: int
    largest_bytes: int
    replay_bytes: int
    writing_bytes: int

    @classmethod
    def of(cls, config: CollectorConfig) -> Sizing:
        spec = config.inputs.sqs_collector
        limits = spec.limits
        batch = config.globals.batch_max_bytes
        network = [output for output in config.outputs.values() if not isinstance(output, ConsoleOutput)]
        return cls(
            pullers=spec.puller_threads or ADAPTIVE_PULLERS,
            batch_bytes=max(batch, limits.max_record_bytes),
            handover_bytes=config.globals.queue_max_size_in_mb * MiB,
            decoding_bytes=COMPRESSED_READ_BYTES + DECODED_CHUNK_BYTES,
            largest_bytes=max(
                limits.max_record_bytes,
                limits.whole_document_bytes,
                limits.max_body_bytes,
                limits.parquet_slice_bytes,
                DECODED_CHUNK_BYTES,
            ),
            replay_bytes=sum(getattr(output, "replay_window_bytes", 0) for output in network),
            writing_bytes=sum(output.concurrent_connections for output in network) * batch or batch,
        )

    @property
    def per_puller_bytes(self) -> int:
        return 2 * self.batch_bytes + self.decoding_bytes + (2 + PARSED_FACTOR) * self.largest_bytes

    @property
    def input_bytes(self) -> int:
        return BASELINE_INPUT_BYTES + self.handover_bytes + self.pullers * self.per_puller_bytes

    @property
    def output_bytes(self) -> int:
        return BASELINE_OUTPUT_BYTES + OUTPUT_COPIES * self.handover_bytes + self.replay_bytes + self.writing_bytes

    @property
    def parent_bytes(self) -> int:
        return BASELINE_PARENT_BYTES

    def lines(self) -> list[str]:
        """The worst case of each process, with its terms, for `devo-sqs validate`."""
        return [
            f"InputProcess  {_mib(self.input_bytes)} = {_mib(BASELINE_INPUT_BYTES)} baseline"
            f" + {_mib(self.handover_bytes)} hand-over budget + {self.pullers} pullers x {_mib(self.per_puller_bytes)}"
            f" (2 x {_mib(self.batch_bytes)} batch + {_mib(self.decoding_bytes)} decoding"
            f" + {2 + PARSED_FACTOR} x {_mib(self.largest_bytes)} largest record/document/slice)",
            f"OutputProcess {_mib(self.output_bytes)} = {_mib(BASELINE_OUTPUT_BYTES)} baseline"
            f" + {OUTPUT_COPIES} x {_mib(self.handover_bytes)} hand-over budget + {_mib(self.replay_bytes)} replay"
            f" windows + {_mib(self.writing_bytes)} being written",
            f"parent        {_mib(self.parent_bytes)} baseline",
        ]

    def above_target(self) -> list[str]:
        """What `validate` and `run` warn about: each process whose worst case passes TARGET_BYTES."""
        processes = (("InputProcess", self.input_bytes), ("OutputProcess", self.output_bytes))
        return [
            f"the worst-case memory of the {name} is {_mib(size)}, above the {_mib(TARGET_BYTES)} the default "
            "limits keep each process under (README: Memory)"
            for name, size in processes
            if size > TARGET_BYTES
        ]


def _mib(size: int) -> str:
    return f"{size / MiB:.1f} MiB"
