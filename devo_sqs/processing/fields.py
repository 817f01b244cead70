"""Variables: `file_field_definitions` computed from the key, `record_field_mapping` from each record.

Both run the same `split` / `replace` chains. A value that cannot be computed is None ("unset").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import orjson

from devo_sqs.config.models import Operation, RecordMapping, ReplaceOp
from devo_sqs.processing.processors.base import json_default

Chain = Callable[[str], str | None]
Extractor = Callable[[Any], str | None]
RecordKey = Callable[[Any], Hashable]


def as_text(value: Any) -> str | None:
    """A record value as the text rules and tags see: JSON spelling for non-strings, None stays unset."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    try:
        return orjson.dumps(value, default=json_default).decode()
    except orjson.JSONEncodeError:  # nested deeper than JSON can be written: no value
        return None


def compile_chain(operations: Sequence[Operation]) -> Chain:
    """One callable applying the operations in order; an out-of-range split gives None."""
    steps = [_step(operation) for operation in operations]
    if len(steps) == 1:
        return steps[0]

    def run(text: str) -> str | None:
        current: str | None = text
        for step in steps:
            if current is None:
                return None
            current = step(current)
        return current

    return run


def _step(operation: Operation) -> Callable[[str], str | None]:
    if isinstance(operation, ReplaceOp):
        old, new = operation.to_replace, operation.replace_with
        return lambda text: text.replace(old, new)
    on, element = operation.on, operation.element
    if element == 0:  # str.partition is split(on)[0] / [-1] without building the list
        return lambda text: text.partition(on)[0]
    if element == -1:
        return lambda text: text.rpartition(on)[2]

    def split(text: str) -> str | None:
        parts = text.split(on)
        return parts[element] if -len(parts) <= element < len(parts) else None

    return split


def compile_file_variables(definitions: Mapping[str, Sequence[Operation]]) -> Callable[[str], dict[str, str | None]]:
    """key -> every file variable; the chains are compiled once, per service."""
    chains = {name: compile_chain(operations) for name, operations in definitions.items()}
    return lambda key: {name: chain(key) for name, chain in chains.items()}


def compile_extractor(mapping: RecordMapping) -> Extractor:
    """record -> text at `keys` (dict keys or list indexes) after the operations, or None.

    Runs once per record: a path of one dict key (the usual mapping) is a single `dict.get`."""
    dig = _digger(tuple(mapping.keys))
    if mapping.fallback_keys:
        dig = _first_found([dig, *(_digger(tuple(path)) for path in mapping.fallback_keys)])
    if not mapping.operations:
        return dig
    chain = compile_chain(mapping.operations)

    def extract(record: Any) -> str | None:
        text = dig(record)
        return None if text is None else chain(text)

    return extract


def compile_record_key(extractors: Sequence[Extractor]) -> RecordKey:
    """record -> every variable's value at once: the value itself for one extractor, a tuple for more.
    Records of one object repeat few keys, so what follows from a key can be decided once per key."""
    if len(extractors) == 1:
        return extractors[0]
    if len(extractors) == 2:
        first, second = extractors
        return lambda record: (first(record), second(record))
    return lambda record: tuple([extract(record) for extract in extractors])


def _digger(path: tuple[str | int, ...]) -> Extractor:
    return _dig_one(path[0]) if len(path) == 1 and isinstance(path[0], str) else _dig_path(path)


def _first_found(diggers: Sequence[Extractor]) -> Extractor:
    def dig(record: Any) -> str | None:
        for each in diggers:
            if (value := each(record)) is not None:
                return value
        return None

    return dig


def _dig_one(key: str) -> Extractor:
    def dig(record: Any) -> str | None:
        value = record.get(key) if record.__class__ is dict else _index(record, key)
        return value if value is None or value.__class__ is str else as_text(value)

    return dig


def _dig_path(path: tuple[str | int, ...]) -> Extractor:
    def dig(record: Any) -> str | None:
        value = record
        for step in path:
            value = value.get(step) if value.__class__ is dict and step.__class__ is str else _index(value, step)
            if value is None:
                return None
        return value if value.__class__ is str else as_text(value)

    return dig


def _index(value: Any, step: str | int) -> Any:
    if isinstance(value, dict):
        found = value.get(step)
        if found is None and isinstance(step, int):
            found = value.get(str(step))
        return found
    if isinstance(value, list) and isinstance(step, int | str):
        try:
            return value[int(step)]
        except (IndexError, ValueError):
            return None
    return None
