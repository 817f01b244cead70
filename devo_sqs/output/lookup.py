"""Devo lookup tables over syslog, as Devo's SDK sends them: a START control event naming the columns (key
first), one data event per row, an END control event, all in one ordered batch for the `lookup` manager.

    my.lookup.control.<name>.<FULL|INC>   <id>_<name>|START|[{"host":{"type":"str","key":true}},{"ip":{"type":"ip4"}}]
    my.lookup.data.<name>                 <id>_<name>|"web-1","10.0.0.1"
    my.lookup.data.<name>.DELETE          <id>_<name>|"old-host","10.0.0.9"     (rows to remove, INC only)
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import orjson

from devo_sqs.messages import Batch

CONTROL_TAG = "my.lookup.control"
DATA_TAG = "my.lookup.data"
NAME = re.compile(r"^[A-Za-z0-9_]+$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")

Value = str | int | float


@dataclass(frozen=True)
class Lookup:
    name: str  # letters, digits and underscores
    columns: Sequence[str]  # the key column among them
    key: str
    types: Mapping[str, str] = field(default_factory=dict)  # column -> Devo type (str, int, float, ip4, ...)
    action: Literal["FULL", "INC"] = "FULL"  # FULL replaces the table, INC updates rows by key

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"lookup name {self.name!r}: only letters, digits and underscores")
        if self.key not in self.columns:
            raise ValueError(f"lookup key {self.key!r} is not one of the columns {list(self.columns)}")

    def batch(
        self, rows: Sequence[Sequence[Value]], *, batch_id: int, deleted: Sequence[Sequence[Value]] = ()
    ) -> Batch:
        """START, rows (and rows to delete), END - in that order."""
        prefix = f"{time.time()}_{self.name}"
        control = f"{CONTROL_TAG}.{self.name}.{self.action}"
        headers = self._headers()
        groups: list[tuple[str, list[bytes]]] = [(control, [f"{prefix}|START|{headers}".encode()])]
        if rows:
            groups.append((f"{DATA_TAG}.{self.name}", [f"{prefix}|{self._row(row)}".encode() for row in rows]))
        if deleted:
            groups.append(
                (f"{DATA_TAG}.{self.name}.DELETE", [f"{prefix}|{self._row(row)}".encode() for row in deleted])
            )
        groups.append((control, [f"{prefix}|END|{headers}".encode()]))
        return Batch(batch_id=batch_id, kind="lookup", source=f"lookup {self.name}", groups=groups)

    def _ordered(self) -> list[str]:
        return [self.key, *(column for column in self.columns if column != self.key)]

    def _headers(self) -> str:
        described = [
            {column: {"type": self.types.get(column, "str"), **({"key": True} if column == self.key else {})}}
            for column in self._ordered()
        ]
        return orjson.dumps(described).decode()

    def _row(self, row: Sequence[Value]) -> str:
        if len(row) != len(self.columns):
            raise ValueError(f"lookup {self.name}: a row has {len(row)} values for {len(self.columns)} columns")
        by_column = dict(zip(self.columns, row, strict=True))
        return ",".join(_cell(by_column[column]) for column in self._ordered())


def _cell(value: Value) -> str:
    """Numbers as they are, anything else quoted (quotes inside doubled, as CSV does)."""
    text = str(value).strip()
    return text if NUMBER.match(text) else '"' + text.replace('"', '""') + '"'
