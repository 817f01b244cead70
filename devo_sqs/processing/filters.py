"""`filename_filter_rules` (skip whole objects) and `line_filter_rules` (drop records).

Both are lists of lists: the rules inside an inner list are ANDed, the inner lists ORed; a match drops.
Line rules on file variables are settled once per object, so records only pay for record rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from devo_sqs.config.models import FilenameRule, LineRule
from devo_sqs.processing.fields import as_text

Values = Mapping[str, str | None]
Test = Callable[[str | None], bool]


def compile_filename_filter(rules: Sequence[Sequence[FilenameRule]]) -> Callable[[str], bool]:
    """key -> True when the object must be skipped."""
    groups = [[_filename_test(rule) for rule in group] for group in rules if group]
    return lambda key: any(all(test(key) for test in group) for group in groups)


def _filename_test(rule: FilenameRule) -> Callable[[str], bool]:
    pattern = rule.pattern
    if rule.type == "match":
        return lambda key: pattern in key
    if rule.type == "doesnotmatch":
        return lambda key: pattern not in key
    regex = re.compile(pattern)
    return lambda key: regex.search(key) is not None


@dataclass(frozen=True, slots=True)
class BoundFilter:
    """The line filter for one object: file rules already decided."""

    drops_everything: bool  # some group held only file rules, all true
    groups: tuple[tuple[tuple[str, Test], ...], ...]  # remaining groups of (record variable, test)

    def drops(self, values: Values) -> bool:
        return self.drops_everything or any(
            all(test(values.get(name)) for name, test in group) for group in self.groups
        )

    @property
    def inactive(self) -> bool:
        return not self.drops_everything and not self.groups


class LineFilter:
    """Compiled `line_filter_rules`; `bind(file_values)` gives the per-object filter."""

    def __init__(self, rules: Sequence[Sequence[LineRule]]) -> None:
        self._groups = [[(rule.source, rule.key, _value_test(rule)) for rule in group] for group in rules if group]
        self.record_variables = frozenset(rule.key for group in rules for rule in group if rule.source == "record")

    def bind(self, file_values: Values) -> BoundFilter:
        remaining = []
        for group in self._groups:
            if not all(test(file_values.get(key)) for source, key, test in group if source == "file"):
                continue
            record_part = tuple((key, test) for source, key, test in group if source == "record")
            if not record_part:
                return BoundFilter(drops_everything=True, groups=())
            remaining.append(record_part)
        return BoundFilter(drops_everything=False, groups=tuple(remaining))


def _value_test(rule: LineRule) -> Test:
    if rule.type == "in":
        assert isinstance(rule.value, list)
        allowed = frozenset(as_text(item) for item in rule.value)
        return lambda text: text in allowed
    expected = as_text(rule.value)
    assert expected is not None
    if rule.type == "match":
        return lambda text: text == expected
    if rule.type == "doesnotmatch":
        return lambda text: text != expected
    if rule.type == "contains":
        return lambda text: text is not None and expected in text
    regex = re.compile(expected)
    return lambda text: text is not None and regex.search(text) is not None
