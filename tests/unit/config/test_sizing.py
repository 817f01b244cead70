"""The worst-case memory of each process, stated from the configuration, and what `validate` prints of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from devo_sqs.cli import main
from devo_sqs.config.advice import warnings
from devo_sqs.config.loader import parse_config
from devo_sqs.config.models import CollectorConfig
from devo_sqs.config.sizing import TARGET_BYTES, Sizing

MIB = 1 << 20
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"


def config(
    *, outputs: dict[str, Any] | None = None, globals_: dict[str, Any] | None = None, **spec: Any
) -> CollectorConfig:
    document: dict[str, Any] = {
        "globals": globals_ or {},
        "inputs": {"sqs_collector": {"id": "1", "base_url": QUEUE, "services": {"aws_sqs_vpc": {}}, **spec}},
    }
    if outputs is not None:
        document["outputs"] = outputs
    return parse_config(document)


def test_the_defaults_keep_every_process_under_300_mib_with_16_pullers() -> None:
    sizing = Sizing.of(config())  # puller_threads unset: adaptive, up to 16
    assert sizing.pullers == 16
    assert (sizing.batch_bytes, sizing.handover_bytes, sizing.largest_bytes) == (MIB, 32 * MIB, MIB // 2)
    assert sizing.per_puller_bytes == 2 * MIB + MIB // 2 + 12 * (MIB // 2)
    assert sizing.input_bytes == 122 * MIB + 32 * MIB + 16 * sizing.per_puller_bytes == 290 * MIB
    assert sizing.output_bytes == 42 * MIB + 64 * MIB + MIB
    assert max(sizing.input_bytes, sizing.output_bytes, sizing.parent_bytes) < TARGET_BYTES
    assert sizing.above_target() == []


def test_a_bigger_budget_gives_bigger_batches_and_the_output_side_warns_past_300_mib() -> None:
    sizing = Sizing.of(config(puller_threads=2, globals_={"queue_max_size_in_mb": 128}))
    assert (sizing.pullers, sizing.batch_bytes) == (2, 4 * MIB)
    assert sizing.input_bytes == 122 * MIB + 128 * MIB + 2 * (8 * MIB + MIB // 2 + 12 * (MIB // 2))
    assert sizing.output_bytes == 42 * MIB + 256 * MIB + 4 * MIB
    assert sizing.above_target() == [
        "the worst-case memory of the OutputProcess is 302.0 MiB, above the 300.0 MiB the default limits keep each "
        "process under (README: Memory)"
    ]


def test_larger_records_and_documents_raise_the_worst_case_and_validate_and_run_warn() -> None:
    collector = config(limits={"max_record_bytes": 4 * MIB, "whole_document_bytes": 8 * MIB})
    sizing = Sizing.of(collector)
    assert (sizing.batch_bytes, sizing.largest_bytes) == (4 * MIB, 8 * MIB)
    assert sizing.input_bytes == 122 * MIB + 32 * MIB + 16 * (8 * MIB + MIB // 2 + 12 * 8 * MIB)
    assert [warning.split(",")[0] for warning in warnings(collector)] == [
        "the worst-case memory of the InputProcess is 1826.0 MiB"
    ]


def test_each_tcp_or_tls_output_adds_its_replay_window_and_a_batch_per_connection() -> None:
    relay = {"type": "relay", "address": "127.0.0.1", "port": 514, "concurrent_connections": 3}
    tight = {**relay, "replay_window_bytes": 4 * MIB, "concurrent_connections": 1}
    sizing = Sizing.of(config(outputs={"a": relay, "b": tight, "c": {"type": "console"}}))
    assert (sizing.replay_bytes, sizing.writing_bytes) == (20 * MIB, 4 * MIB)


def test_validate_prints_the_worst_case_of_the_configuration_it_checks_as_yaml_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.json"
    spec = {"id": "1", "base_url": QUEUE, "services": {"aws_sqs_vpc": {}}}
    path.write_bytes(orjson.dumps({"inputs": {"sqs_collector": spec}}))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    comments = [line for line in out.splitlines() if line.startswith("#")]
    assert comments == [
        "# Worst-case memory of each process (README: Memory):",
        "#   InputProcess  290.0 MiB = 122.0 MiB baseline + 32.0 MiB hand-over budget + 16 pullers x 8.5 MiB "
        "(2 x 1.0 MiB batch + 0.5 MiB decoding + 12 x 0.5 MiB largest record/document/slice)",
        "#   OutputProcess 107.0 MiB = 42.0 MiB baseline + 2 x 32.0 MiB hand-over budget + 0.0 MiB replay windows "
        "+ 1.0 MiB being written",
        "#   parent        53.0 MiB baseline",
    ]
    resolved = yaml.safe_load(out.partition("\n")[2])
    assert resolved["inputs"]["sqs_collector"]["limits"]["max_record_bytes"] == MIB // 2
