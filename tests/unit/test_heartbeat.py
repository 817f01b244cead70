"""What the running collector reports as problems in its heartbeat, from its children's progress reports."""

from __future__ import annotations

from typing import Any

import pytest

from devo_sqs.heartbeat import ChildView, problems

STALL = 540.0


def child(name: str, *, alive: bool = True, silent: float = 1.0, **snapshot: Any) -> ChildView:
    return ChildView(name, alive, snapshot, silent)


HEALTHY_OUTPUT = child("output", managers={"standard": {"spool_failing": False}})


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ([child("input", messages_in_flight=3, seconds_since_settlement=2.0), HEALTHY_OUTPUT], []),
        ([child("input", messages_in_flight=0, seconds_since_settlement=9999.0), HEALTHY_OUTPUT], []),
        (
            [child("input", messages_in_flight=3, seconds_since_settlement=600.0), HEALTHY_OUTPUT],
            ["collection stalled: 3 message(s) in flight and nothing settled for 601 s (stall_seconds 540)"],
        ),
        ([child("input", alive=False), HEALTHY_OUTPUT], ["the input process is down"]),
        ([child("input"), child("output", alive=False)], ["the output process is down"]),
        (
            [child("input", silent=45.0), HEALTHY_OUTPUT],
            ["the input process has not reported for 45 s"],
        ),
        (
            [child("input", thread_restarts={"AckReader": 4, "BatchWriter": 3}), HEALTHY_OUTPUT],
            ["thread AckReader of the input process restarted 4 times in 5 minutes"],
        ),
        (
            [child("input"), child("output", managers={"standard": {"spool_failing": True}, "internal": {}})],
            ["emergency persistence of the standard manager cannot be written"],
        ),
    ],
)
def test_problems_come_from_the_children_reports(children: list[ChildView], expected: list[str]) -> None:
    assert problems(children, stall_seconds=STALL) == expected
