"""What a backfill found and did, per service: objects and bytes announced (or, in a dry run, to announce),
objects filename_filter_rules skip, and keys no service takes. Updated by the listing threads and the sender."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from devo_sqs.backfill.listing import ListedObject

UNCLAIMED_SHOWN = 20


@dataclass
class Tally:
    listed: int = 0  # objects listed, in the selection or not
    selected: int = 0  # in the window and matching --key-regex
    queued_objects: int = 0  # taken by a service and not skipped: to be sent
    queued_bytes: int = 0
    sent_objects: Counter[str] = field(default_factory=Counter)  # per service
    sent_bytes: Counter[str] = field(default_factory=Counter)
    skipped_objects: Counter[str] = field(default_factory=Counter)  # by the service's filename_filter_rules
    skipped_bytes: Counter[str] = field(default_factory=Counter)
    unclaimed: int = 0
    unclaimed_bytes: int = 0
    unclaimed_keys: list[str] = field(default_factory=list)  # the first UNCLAIMED_SHOWN
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def listed_one(self, *, selected: bool) -> None:
        with self._lock:
            self.listed += 1
            self.selected += selected

    def queued(self, obj: ListedObject) -> None:
        with self._lock:
            self.queued_objects += 1
            self.queued_bytes += obj.size

    def sent(self, service: str, obj: ListedObject) -> None:
        with self._lock:
            self.sent_objects[service] += 1
            self.sent_bytes[service] += obj.size

    def skipped(self, service: str, obj: ListedObject) -> None:
        with self._lock:
            self.skipped_objects[service] += 1
            self.skipped_bytes[service] += obj.size

    def no_service(self, obj: ListedObject) -> None:
        with self._lock:
            self.unclaimed += 1
            self.unclaimed_bytes += obj.size
            if len(self.unclaimed_keys) < UNCLAIMED_SHOWN:
                self.unclaimed_keys.append(obj.key)

    @property
    def total_sent(self) -> tuple[int, int]:
        with self._lock:
            return sum(self.sent_objects.values()), sum(self.sent_bytes.values())


def summary(tally: Tally, *, dry_run: bool) -> str:
    """The per-service table, the skipped objects and the keys no service takes."""
    verb = "would send" if dry_run else "sent"
    lines = [f"Listed {tally.listed:,} object(s), {tally.selected:,} in the selection (window and --key-regex)."]
    lines += _table(f"{verb} (objects, bytes) per service:", tally.sent_objects, tally.sent_bytes)
    lines += _table("skipped by filename_filter_rules (objects, bytes):", tally.skipped_objects, tally.skipped_bytes)
    if tally.unclaimed:
        lines.append(f"no service takes {tally.unclaimed:,} key(s) ({tally.unclaimed_bytes:,} bytes), never sent:")
        lines += [f"  {key}" for key in tally.unclaimed_keys]
        if tally.unclaimed > len(tally.unclaimed_keys):
            lines.append(f"  ... and {tally.unclaimed - len(tally.unclaimed_keys):,} more")
    else:
        lines.append("no service takes: none")
    return "\n".join(lines)


def _table(title: str, objects: Counter[str], sizes: Counter[str]) -> list[str]:
    if not objects:
        return [f"{title} none"]
    width = max(len(name) for name in [*objects, "total"])
    rows = [f"  {name:<{width}}  {objects[name]:>12,}  {sizes[name]:>18,}" for name in sorted(objects)]
    total = f"  {'total':<{width}}  {sum(objects.values()):>12,}  {sum(sizes.values()):>18,}"
    return [title, *rows, total]
