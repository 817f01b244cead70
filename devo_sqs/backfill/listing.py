"""ListObjectsV2 for the backfill: units of listing that resume on their own (every object under a prefix, or
only those right at it), and Delimiter listings of one level to find the prefixes below."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DELIMITER = "/"


@dataclass(frozen=True, slots=True)
class ListedObject:
    key: str
    size: int
    etag: str  # without the quotes, as S3 notifications spell it
    last_modified: datetime

    @classmethod
    def from_listing(cls, item: dict[str, Any]) -> ListedObject:
        return cls(item["Key"], int(item["Size"]), str(item.get("ETag", "")).strip('"'), item["LastModified"])


@dataclass(frozen=True, slots=True)
class Unit:
    """One listing the checkpoint follows in key order: every object under `prefix`, or with `level` only the
    objects right at it (none of the sub-prefixes, which are units or walked on their own)."""

    prefix: str
    level: bool = False

    @property
    def id(self) -> str:
        return ("level:" if self.level else "tree:") + self.prefix


@dataclass(frozen=True, slots=True)
class Level:
    """A Delimiter listing of one prefix: whether objects sit right at it, and the prefixes one level below."""

    prefix: str
    has_objects: bool
    subprefixes: tuple[str, ...]
    complete: bool  # False: only the first page was read, and there is more


def list_unit(s3: Any, bucket: str, unit: Unit, *, start_after: str | None) -> Iterator[ListedObject]:
    """The unit's objects in key order, after `start_after` (the checkpoint's position)."""
    arguments: dict[str, Any] = {"Bucket": bucket, "Prefix": unit.prefix}
    if unit.level:
        arguments["Delimiter"] = DELIMITER
    if start_after:
        arguments["StartAfter"] = start_after
    for page in _pages(s3, arguments):
        for item in page.get("Contents", ()):
            yield ListedObject.from_listing(item)


def read_level(s3: Any, bucket: str, prefix: str, *, all_pages: bool) -> Level:
    """One level below `prefix`; without `all_pages` only the first page (1,000 entries) is read."""
    has_objects, complete = False, True
    subprefixes: list[str] = []
    for page in _pages(s3, {"Bucket": bucket, "Prefix": prefix, "Delimiter": DELIMITER}):
        has_objects = has_objects or bool(page.get("Contents"))
        subprefixes.extend(entry["Prefix"] for entry in page.get("CommonPrefixes", ()))
        if page.get("IsTruncated") and not all_pages:
            complete = False
            break
    return Level(prefix, has_objects, tuple(subprefixes), complete)


def _pages(s3: Any, arguments: dict[str, Any]) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page: dict[str, Any] = s3.list_objects_v2(**arguments, **({"ContinuationToken": token} if token else {}))
        yield page
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
