"""The pipes between the parent and its two children: one writer and one reader each, fresh for every incarnation.

No lock, event or queue is shared between processes. A process killed while it holds a shared lock (a
multiprocessing Queue's write lock, an Event's condition) wedges every other process that touches it; a pipe whose
peer dies just ends: the reader gets EOFError, the writer BrokenPipeError. The parent keeps only its own ends, so a
child's death is also seen by the other child (the batch and acknowledgement pipes end).
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext

CONTEXT: SpawnContext = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class InputEnds:
    """What the InputProcess holds."""

    control: Connection  # parent -> input: commands (see `Command`); EOF means the parent is gone
    reports: Connection  # input -> parent: log records and status snapshots
    batches: Connection  # input -> output: encoded record batches
    acks: Connection  # output -> input: encoded acknowledgements


@dataclass(frozen=True)
class OutputEnds:
    """What the OutputProcess holds."""

    control: Connection  # parent -> output
    reports: Connection  # output -> parent
    batches: Connection  # input -> output (read end): EOF once the InputProcess is gone
    acks: Connection  # output -> input (write end): BrokenPipeError once the InputProcess is gone


@dataclass(frozen=True)
class ParentEnds:
    """What the parent keeps: a command pipe to each child and the report pipe from each."""

    input_control: Connection
    input_reports: Connection
    output_control: Connection
    output_reports: Connection


def create_links() -> tuple[ParentEnds, InputEnds, OutputEnds]:
    """Fresh pipes for one incarnation of the pair. After both children started, `close_child_ends`."""
    input_control_read, input_control_write = CONTEXT.Pipe(duplex=False)
    input_reports_read, input_reports_write = CONTEXT.Pipe(duplex=False)
    output_control_read, output_control_write = CONTEXT.Pipe(duplex=False)
    output_reports_read, output_reports_write = CONTEXT.Pipe(duplex=False)
    batches_read, batches_write = CONTEXT.Pipe(duplex=False)
    acks_read, acks_write = CONTEXT.Pipe(duplex=False)
    parent = ParentEnds(input_control_write, input_reports_read, output_control_write, output_reports_read)
    child_in = InputEnds(input_control_read, input_reports_write, batches_write, acks_read)
    child_out = OutputEnds(output_control_read, output_reports_write, batches_read, acks_write)
    return parent, child_in, child_out


def close_ends(*groups: InputEnds | OutputEnds | ParentEnds) -> None:
    """Close every connection of `groups` (the parent's copies of the children's ends, once they started)."""
    for group in groups:
        for item in fields(group):
            getattr(group, item.name).close()


class Command:
    """What the parent tells a child over its control pipe."""

    DRAIN = "drain"  # input: stop receiving, settle what is in hand, exit; output: spool at the first failure
    FINISH = "finish"  # output: the input is gone; deliver or spool what is queued, then exit
    NOW = "now"  # stop at once: release what is in hand (input), spool what is queued (output)
    GONE = "gone"  # not sent: what a child reads when the parent's end closed
