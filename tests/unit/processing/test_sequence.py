"""Positions in an object's own record sequence (every record the processor makes, malformed ones included) and
the fingerprint of what shapes that sequence."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from pydantic import BaseModel

from devo_sqs.config.limits import DEFAULT_LIMITS, Limits
from devo_sqs.config.models import Service
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.records import ObjectStats, Records
from devo_sqs.processing.sequence import ROUTING_ONLY, Positions, sequence_fingerprint
from tests.unit.processing.harness import processor, records


def run(messages: list[str]) -> Records:
    return Records([message.encode() for message in messages], None)


def placed(positions: Positions, stats: ObjectStats, messages: list[str], *, malformed: int = 0) -> list[Any]:
    """Place a run whose processor reported `malformed` records while making it."""
    stats.failed += malformed
    return [(start, end, [m.decode() for m in part.messages]) for start, end, part in positions.place(run(messages))]


def test_runs_are_placed_back_to_back_and_their_malformed_records_take_positions_too() -> None:
    stats = ObjectStats()
    positions = Positions(stats)
    assert placed(positions, stats, ["a", "b"]) == [(0, 2, ["a", "b"])]
    assert placed(positions, stats, ["c"], malformed=2) == [(2, 5, ["c"])]
    assert placed(positions, stats, [], malformed=1) == [(5, 6, [])]
    stats.failed += 3  # reported after the last run
    assert [(start, end) for start, end, _ in positions.rest()] == [(6, 9)]
    assert positions.rest() == []


def test_a_run_longer_than_max_records_is_cut_and_only_its_last_part_claims_the_malformed_records() -> None:
    stats = ObjectStats()
    positions = Positions(stats, max_records=2)
    assert placed(positions, stats, ["a", "b", "c", "d", "e"], malformed=2) == [
        (0, 2, ["a", "b"]),
        (2, 4, ["c", "d"]),
        (4, 7, ["e"]),
    ]


def test_on_resume_runs_before_the_point_are_left_out_and_inside_a_run_only_messages_surely_before_it() -> None:
    stats = ObjectStats()
    positions = Positions(stats, resume_at=6)
    assert placed(positions, stats, ["a", "b", "c"]) == []
    assert placed(positions, stats, ["d", "e", "f", "g"]) == [(6, 7, ["g"])]  # d..f are positions 3..5
    assert placed(positions, stats, ["h"]) == [(7, 8, ["h"])]
    stats = ObjectStats()
    positions = Positions(stats, resume_at=7)
    assert placed(positions, stats, ["a", "b", "c"]) == []
    # positions 3..8 hold d..g and two malformed records: d and e lie before 7 wherever those are, f may not
    assert placed(positions, stats, ["d", "e", "f", "g"], malformed=2) == [(5, 9, ["f", "g"])]


def simulate(seed: int) -> None:
    """A sequence with malformed records at random places, cut into runs at random, placed with a random
    resume point and run size. Nothing may be left out that lies at or after the resume point, and no prefix
    of the placed parts may claim a position whose message is in a later part."""
    rng = random.Random(seed)
    length = rng.randint(0, 60)
    is_malformed = [rng.random() < 0.3 for _ in range(length)]
    cuts = sorted({0, length, *(rng.randint(0, length) for _ in range(rng.randint(0, 8)))})
    resume_at = rng.randint(0, length)
    stats = ObjectStats()
    positions = Positions(stats, resume_at=resume_at, max_records=rng.choice([None, 1, 2, 3, 7]))
    parts = []
    for begin, end in itertools.pairwise(cuts):
        stats.failed += sum(is_malformed[begin:end])
        messages = [position for position in range(begin, end) if not is_malformed[position]]
        for start, stop, part in positions.place(Records([str(p).encode() for p in messages], None)):
            parts.append((start, stop, [int(m) for m in part.messages]))
    parts += positions.rest()
    sent = [position for _, _, part in parts for position in part]
    left_out = {p for p in range(length) if not is_malformed[p]} - set(sent)
    assert all(position < resume_at for position in left_out), (seed, left_out, resume_at)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts)), (seed, parts)
    if parts:
        assert parts[0][0] <= resume_at and parts[-1][1] == length, (seed, parts)
    for index, (_, claimed_until, _) in enumerate(parts):
        later = [position for _, _, part in parts[index + 1 :] for position in part]
        assert all(position >= claimed_until for position in later), (seed, parts, index)


@pytest.mark.parametrize("seed", range(300))
def test_placement_never_claims_a_record_before_it_is_delivered_nor_leaves_one_out_after_the_resume_point(
    seed: int,
) -> None:
    simulate(seed)


# --- the fingerprint --------------------------------------------------------------------------------------------

BASE: dict[str, Any] = {
    "key_pattern": "^app/",
    "encoding": "gzip",
    "file_format": {"type": "line_split_processor", "config": {"json": True}},
    "record_field_mapping": {"kind": {"keys": ["kind"]}},
    "file_field_definitions": {"app": [{"operator": "split", "on": "/", "element": 0}]},
    "line_filter_rules": [[{"source": "record", "key": "kind", "type": "match", "value": "error"}]],
    "routing_template": "my.app.[record-kind]",
}


class Bounds(BaseModel):
    max_record_bytes: int = 1 << 20


def fingerprint(name: str = "app", bounds: BaseModel | None = None, **changes: Any) -> str:
    return sequence_fingerprint(name, Service.model_validate({**BASE, **changes}), bounds=bounds)


@pytest.mark.parametrize(
    "changes",
    [
        {"routing_template": "my.other.[file-app].[record-kind]"},
        {"line_filter_rules": []},
        {"record_field_mapping": {"kind": {"keys": ["type"]}}},
        {"file_field_definitions": {"app": [{"operator": "split", "on": "/", "element": 1}]}},
        {"key_pattern": "^logs/"},
        {"filename_filter_rules": [[{"type": "match", "pattern": "digest"}]]},
        {"send_filtered_out_to_unknown": True},
        {"send_md5_message": True},
    ],
)
def test_settings_that_only_choose_map_or_route_records_keep_the_fingerprint(changes: dict[str, Any]) -> None:
    assert fingerprint(**changes) == fingerprint()


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "other_app"},
        {"encoding": "auto"},
        {"charset": "latin-1"},
        {"file_format": {"type": "line_split_processor", "config": {"json": False}}},
        {"file_format": {"type": "separated_json_processor", "config": {}}},
        {"bounds": Bounds()},
        {"bounds": Bounds(max_record_bytes=4096)},
    ],
)
def test_what_shapes_the_record_sequence_changes_the_fingerprint(changes: dict[str, Any]) -> None:
    assert fingerprint(**changes) != fingerprint()
    if "bounds" in changes and changes["bounds"].max_record_bytes != Bounds().max_record_bytes:
        assert fingerprint(**changes) != fingerprint(bounds=Bounds())


def test_the_routing_settings_left_out_of_the_fingerprint_are_settings_of_a_service() -> None:
    assert set(ROUTING_ONLY) <= set(Service.model_fields)


def test_a_pipeline_carries_the_fingerprint_of_its_service() -> None:
    pipeline = ServicePipeline("app", Service.model_validate(BASE), sqs_values={})
    assert pipeline.fingerprint == fingerprint(bounds=DEFAULT_LIMITS) and len(pipeline.fingerprint) == 16
    assert fingerprint(bounds=DEFAULT_LIMITS) != fingerprint(bounds=Limits(max_record_bytes=1 << 20))


# --- the sequence does not depend on what the routing needs ----------------------------------------------------

WINDOWS_EVENT = (
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>4634</EventID></System>'
    "<EventData><Data Name='TargetUserName'>bob</Data></EventData></Event>"
)
SAMPLES: list[tuple[str, dict[str, Any], bytes]] = [
    (
        "windows_security_processor",
        {},
        f"{WINDOWS_EVENT}\n{WINDOWS_EVENT.replace('</System>', '</Sys>')}\n{WINDOWS_EVENT}\n".encode(),
    ),
    (
        "text_file_processor",
        {"field_separator": ",", "header": True},
        b'a,b\n1,2\n"3,4\n5,6\n7,"8"\n\n9,x"y\n',
    ),
    ("text_file_processor", {"field_separator": ";"}, b"1;2\n3;4\n \n5\n"),
    ("aws_access_logs_processor", {"log_type": "s3"}, b'owner bucket [16/Jan/2024:12:00:00 +0000] "x\nbroken\n'),
    ("vpc_flow_processor", {}, b"version account-id srcaddr\n2 123 10.0.0.1\n2 123\n\n2 123 10.0.0.3 extra\n"),
    (
        "cloudwatch_logs_processor",
        {},
        b'{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","owner":"1",'
        b'"logEvents":[{"id":"1","timestamp":1,"message":"a"},{"id":"2","timestamp":2},'
        b'{"id":"3","timestamp":3,"message":"c"}]}',
    ),
]


@pytest.mark.parametrize(
    ("kind", "config", "data"), SAMPLES, ids=[f"{kind}-{i}" for i, (kind, _, _) in enumerate(SAMPLES)]
)
def test_the_record_sequence_is_the_same_whether_or_not_records_are_parsed_for_routing(
    kind: str, config: dict[str, Any], data: bytes
) -> None:
    """A routing template or filter on a record variable makes processors parse records; the positions a
    checkpoint counts (records plus malformed ones) must not move with it."""
    lengths = []
    for parse in (False, True):
        messages, _, ctx = records(processor(kind, parse=parse, **config), data)
        lengths.append(len(messages) + ctx.stats.failed)
    assert lengths[0] == lengths[1] > 0
