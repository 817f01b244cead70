"""An object's own record sequence: every record its processor makes, malformed ones included, before filtering and
routing. Checkpoints count positions in it, so a changed filter, mapping or routing template still resumes at the
right record; its fingerprint names what shapes it, so a checkpoint is only trusted where the same sequence will
be made again.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from typing import NamedTuple

import orjson
from pydantic import BaseModel

from devo_sqs import __version__
from devo_sqs.config.models import Service
from devo_sqs.processing.records import ObjectStats, Records

TagRun = tuple[str, list[bytes]]
Placed = tuple[int, int, Records]  # positions [start, end) and the records that go out of them

ROUTING_ONLY = frozenset(
    {
        "key_pattern",
        "dispatch",
        "filename_filter_rules",
        "file_field_definitions",
        "record_field_mapping",
        "line_filter_rules",
        "routing_template",
        "send_filtered_out_to_unknown",
        "send_md5_message",
    }
)  # Service settings that choose, map or route records, and never change which records an object holds


class Span(NamedTuple):
    """Positions [start, end) of an object's record sequence and the (tag, messages) runs made of them. A record
    of the span in no run was filtered out or malformed: it needs no delivery."""

    start: int
    end: int
    runs: list[TagRun]


def sequence_fingerprint(name: str, service: Service, *, bounds: BaseModel | None = None) -> str:
    """A short digest of what makes an object's record sequence: the service's name, every setting of the service
    but the routing ones (so a setting added later counts until it is known not to), the bounds that can cut a
    record or a sequence short, and the collector's version (its processors might split differently)."""
    shape = {
        "service": name,
        "settings": service.model_dump(mode="json", exclude=set(ROUTING_ONLY)),
        "bounds": bounds.model_dump(mode="json") if bounds is not None else None,
        "version": __version__,
    }
    return hashlib.sha256(orjson.dumps(shape, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


class Positions:
    """Places each run of records a processor yields in the object's sequence, leaves out what lies before
    `resume_at`, and cuts runs to at most `max_records`.

    A malformed record has no message: `stats.failed` tells how many a run passed (a processor reports one
    before it yields any record that follows it), not where among the run's messages they were. So positions
    are claimed the safe way: a part of a run ends at its start plus the messages before its end (a malformed
    record may lie before them: the part then claims less than it delivered), the last part at the run's end;
    and on resume a message is left out only when it lies before `resume_at` wherever the malformed records
    were (those may come again: duplicates, never a gap)."""

    __slots__ = ("_failed", "_max_records", "_stats", "position", "resume_at")

    def __init__(self, stats: ObjectStats, *, resume_at: int = 0, max_records: int | None = None) -> None:
        self.position = 0  # the end of what was placed so far
        self.resume_at = resume_at
        self._max_records = max_records or sys.maxsize
        self._stats = stats
        self._failed = stats.failed

    def place(self, records: Records) -> list[Placed]:
        """The parts of `records` that go on, with their positions; none when all of it was delivered before."""
        failed = self._stats.failed
        malformed = failed - self._failed
        self._failed = failed
        count = len(records.messages)
        start = self.position
        end = self.position = start + count + malformed
        if start + malformed >= self.resume_at and count <= self._max_records:
            return [(start, end, records)]  # the usual case: all of it goes on, in one part
        if end <= self.resume_at:
            return []
        delivered = max(0, self.resume_at - start - malformed)  # messages before resume_at wherever malformed ones are
        return list(self._parts(records, start=start, end=end, first=delivered))

    def rest(self) -> list[Placed]:
        """Malformed records reported after the last run (their positions need no delivery either)."""
        return self.place(Records([], None)) if self._stats.failed > self._failed else []

    def _parts(self, records: Records, *, start: int, end: int, first: int) -> Iterator[Placed]:
        messages, parsed = records
        count = len(messages)
        size = self._max_records
        for begin in range(first, count, size):
            stop = min(begin + size, count)
            part = Records(messages[begin:stop], parsed[begin:stop] if parsed is not None else None)
            yield start + begin, end if stop == count else start + stop, part
