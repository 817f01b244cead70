"""What the listing threads do with each node of the walk: look into a directory, or list a unit from its
checkpointed position and hand each selected object on (to the sender, or to the dry run's tally)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devo_sqs.backfill.dates import TimeWindow
from devo_sqs.backfill.listing import Level, ListedObject, Unit, list_unit, read_level
from devo_sqs.backfill.report import Tally
from devo_sqs.backfill.selection import Selector
from devo_sqs.backfill.walk import Directory, Node, expand
from devo_sqs.errors import BackfillError


@dataclass(frozen=True, slots=True)
class Selected:
    """An object to announce, with the unit it was listed in (whose position it advances) and its service."""

    unit_id: str
    obj: ListedObject
    service: str


@dataclass(frozen=True, slots=True)
class UnitEnd:
    """Every selected object of the unit was handed on before this."""

    unit_id: str


Take = Callable[[Selected | UnitEnd], bool]  # False: the backfill is stopping, hand nothing more


class Lister:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        *,
        window: TimeWindow,
        selector: Selector,
        tally: Tally,
        take: Take,
        start_after: Callable[[str], str | None] = lambda unit_id: None,
        done: Callable[[str], bool] = lambda unit_id: False,
        stop: threading.Event,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._window = window
        self._selector = selector
        self._tally = tally
        self._take = take
        self._start_after = start_after
        self._done = done
        self._stop = stop

    def handle(self, node: Node) -> list[Node]:
        """The nodes below a directory; a unit is listed here and has none."""
        try:
            if isinstance(node, Directory):
                return expand(node, self._window, self._read_level)
            self._list(node)
            return []
        except (ClientError, BotoCoreError) as exc:
            raise BackfillError(f"listing s3://{self._bucket}/{node.prefix} failed: {exc}") from exc

    def _read_level(self, prefix: str, all_pages: bool) -> Level:
        return read_level(self._s3, self._bucket, prefix, all_pages=all_pages)

    def _list(self, unit: Unit) -> None:
        if self._done(unit.id):
            return
        for obj in list_unit(self._s3, self._bucket, unit, start_after=self._start_after(unit.id)):
            if self._stop.is_set() or not self._consider(unit, obj):
                return
        self._take(UnitEnd(unit.id))

    def _consider(self, unit: Unit, obj: ListedObject) -> bool:
        selected = self._selector.selects(obj)
        self._tally.listed_one(selected=selected)
        if not selected:
            return True
        route = self._selector.route(obj.key)
        if route.service is None:
            self._tally.no_service(obj)
        elif route.skipped:
            self._tally.skipped(route.service, obj)
        else:
            self._tally.queued(obj)
            return self._take(Selected(unit.id, obj, route.service))
        return True
