"""Variables: `file_field_definitions` computed from the key, `record_field_mapping` from each record.

Both run the same `split` / `replace` chains. A value that cannot be computed is None ("unset").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from devo_sqs.config.models import Operation, RecordMapping, ReplaceOp, SplitOp

Chain = Callable[[str], str | None]
Extractor = Callable[[Any], str | None]


def as_text(value: Any) -> str | None:
    """A record value as the text rules and tags see: JSON spelling for non-strings, None stays unset."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def compile_chain(operations: Sequence[Operation]) -> Chain:
    """One callable applying the operations in order; an out-of-range split gives None."""
    steps = [_step(operation) for operation in operations]

    def run(text: str) -> str | None:
        current: str | None = text
        for step in steps:
            if current is None:
                return None
            current = step(current)
        return current

    return run


def _step(operation: Operation) -> Callable[[str], str | None]:
    if isinstance(operation, SplitOp):
        on, element = operation.on, operation.element

        def split(text: str) -> str | None:
            parts = text.split(on)
            return parts[element] if -len(parts) <= element < len(parts) else None

        return split
    assert isinstance(operation, ReplaceOp)
    old, new = operation.to_replace, operation.replace_with
    return lambda text: text.replace(old, new)


def file_variables(key: str, definitions: Mapping[str, Sequence[Operation]]) -> dict[str, str | None]:
    """Compute every file variable from the object key."""
    return {name: compile_chain(operations)(key) for name, operations in definitions.items()}


def compile_extractor(mapping: RecordMapping) -> Extractor:
    """record -> text at `keys` (dict keys or list indexes) after the operations, or None."""
    path = tuple(mapping.keys)
    chain = compile_chain(mapping.operations) if mapping.operations else None

    def extract(record: Any) -> str | None:
        value = record
        for step in path:
            value = _index(value, step)
            if value is None:
                return None
        text = as_text(value)
        return chain(text) if chain is not None and text is not None else text

    return extract


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
