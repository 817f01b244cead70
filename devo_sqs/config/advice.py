"""Configurations that are valid but probably not what the operator meant: `validate` prints them as warnings and
`run` logs them at start."""

from __future__ import annotations

from devo_sqs.config.files import exposed_private_keys
from devo_sqs.config.models import CollectorConfig


def warnings(config: CollectorConfig) -> list[str]:
    spec = config.inputs.sqs_collector
    found = list(exposed_private_keys(config))
    if spec.do_not_send and spec.ack_messages:
        found.append(
            "inputs.sqs_collector.do_not_send is on and ack_messages is not off: every message counts as delivered "
            "and is deleted, though nothing is sent (set ack_messages: false to keep them)"
        )
    if spec.stall_limit <= spec.batch_deadline:
        found.append(
            f"inputs.sqs_collector.stall_seconds ({spec.stall_limit}) is not above the batch deadline "
            f"({spec.batch_deadline} s): health may fail a collector before the deadline recovers a late batch"
        )
    return found
