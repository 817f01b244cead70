"""`routing_template` -> Devo tag. Interpolated values are sanitized so they never add levels or break frames."""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from typing import cast

from devo_sqs.config.models import PLACEHOLDER
from devo_sqs.processing.filters import BoundFilter

UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
UNKNOWN_TAG = "unknown.unknown"
CACHE_LIMIT = 4096


def sanitize(value: str | None) -> str:
    """One tag level from any value: unset -> `null`, any other character than [A-Za-z0-9_-] -> `_`."""
    if not value:
        return "null"
    return UNSAFE.sub("_", value)


class Template:
    """A compiled routing template. `for_object` settles file and sqs placeholders once per object;
    what is left depends on record variables only."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.record_variables = tuple(
            match.group(2) for match in PLACEHOLDER.finditer(template) if match.group(1) == "record"
        )

    def for_object(self, file_values: Mapping[str, str | None], sqs_values: Mapping[str, str]) -> RecordTemplate:
        def settle(match: re.Match[str]) -> str:
            source, name = match.groups()
            if source == "file":
                return sanitize(file_values.get(name))
            if source == "sqs":
                return sanitize(sqs_values.get(name))
            return match.group(0)

        return RecordTemplate(PLACEHOLDER.sub(settle, self.template), self.record_variables)


class RecordTemplate:
    """The template with only `[record-X]` placeholders left; renders tags with a small cache."""

    def __init__(self, template: str, record_variables: tuple[str, ...]) -> None:
        self.static = not record_variables
        self._names = record_variables
        parts = PLACEHOLDER.split(template)  # literal, source, name, literal, source, name, ...
        self._literals = parts[0::3]
        self._cache: dict[tuple[str | None, ...], str] = {}
        self.tag = template if self.static else ""

    def render(self, values: Mapping[str, str | None]) -> str:
        if self.static:
            return self.tag
        key = tuple(values.get(name) for name in self._names)
        tag = self._cache.get(key)
        if tag is None:
            pieces = [self._literals[0]]
            for value, literal in zip(key, self._literals[1:], strict=True):
                pieces += (sanitize(value), literal)
            tag = "".join(pieces)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = tag
        return tag


class RecordRoutes:
    """One object's routing decisions by record key (the values of the record variables, see
    `compile_record_key`): the tag, or None when the line filter drops the record. A key repeats across
    records, so the filter and the template run once per distinct key; `decided` is the lookup for the rest."""

    def __init__(self, template: RecordTemplate, line_filter: BoundFilter, variables: tuple[str, ...]) -> None:
        self.template = template
        self.line_filter = line_filter
        self.decided: dict[Hashable, str | None] = {}
        self._variables = variables

    def decide(self, key: Hashable) -> str | None:
        keys = cast(tuple[str | None, ...], (key,) if len(self._variables) == 1 else key)
        values = dict(zip(self._variables, keys, strict=True))
        tag = None if self.line_filter.drops(values) else self.template.render(values)
        if len(self.decided) >= CACHE_LIMIT:
            self.decided.clear()
        self.decided[key] = tag
        return tag
