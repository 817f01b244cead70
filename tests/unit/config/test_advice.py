"""Valid configurations that are probably a mistake get a warning from `validate` (and a log line from `run`)."""

from __future__ import annotations

from typing import Any

import pytest

from devo_sqs.config.advice import warnings
from devo_sqs.config.loader import parse_config

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/logs"


def config(**input_keys: Any) -> Any:
    return parse_config(
        {"inputs": {"sqs_collector": {"id": "1", "base_url": QUEUE, "services": {"aws_sqs_vpc": {}}, **input_keys}}}
    )


DO_NOT_SEND = (
    "inputs.sqs_collector.do_not_send is on and ack_messages is not off: every message counts as delivered and is "
    "deleted, though nothing is sent (set ack_messages: false to keep them)"
)


@pytest.mark.parametrize(
    ("input_keys", "expected"),
    [
        ({}, []),
        ({"do_not_send": True}, [DO_NOT_SEND]),
        ({"do_not_send": True, "ack_messages": False}, []),
        (
            {"stall_seconds": 100},
            [
                "inputs.sqs_collector.stall_seconds (100) is not above the batch deadline (480 s): health may fail "
                "a collector before the deadline recovers a late batch"
            ],
        ),
        ({"stall_seconds": 100, "batch_deadline_seconds": 60}, []),
    ],
)
def test_warnings_name_the_setting_and_why(input_keys: dict[str, Any], expected: list[str]) -> None:
    assert warnings(config(**input_keys)) == expected
