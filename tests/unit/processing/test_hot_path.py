"""The per-record fast paths keep the rules' meaning: compiled splits and key lookups, routing decided once per
distinct record key, the garbage collector paused only while a run of records is made."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from devo_sqs.config.models import RecordMapping, Service, SplitOp
from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing import pipeline as pipeline_module
from devo_sqs.processing.fields import compile_chain, compile_extractor, compile_record_key
from devo_sqs.processing.filters import BoundFilter
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.routing import CACHE_LIMIT, RecordRoutes, Template


@pytest.mark.parametrize("text", ["a.b.c", "abc", ".a.", ""])
@pytest.mark.parametrize("element", [0, -1, 1, -2, 3, -4])
def test_a_compiled_split_is_str_split_with_out_of_range_elements_unset(text: str, element: int) -> None:
    parts = text.split(".")
    expected = parts[element] if -len(parts) <= element < len(parts) else None
    assert compile_chain([SplitOp(operator="split", on=".", element=element)])(text) == expected


@pytest.mark.parametrize(
    ("record", "text"),
    [
        ({"k": "v"}, "v"),
        ({"k": 7}, "7"),
        ({"k": False}, "false"),
        ({"k": {"x": [1]}}, '{"x":[1]}'),
        ({"k": None}, None),
        ({"other": "v"}, None),
        (["a", "b"], None),
        ("k", None),
        (None, None),
    ],
)
def test_a_one_key_mapping_reads_every_record_shape_as_the_path_rules_say(record: Any, text: str | None) -> None:
    assert compile_extractor(RecordMapping(keys=["k"]))(record) == text


def test_a_one_key_mapping_indexes_a_list_record_by_a_numeric_key() -> None:
    assert compile_extractor(RecordMapping(keys=["1"]))(["a", "b"]) == "b"


def test_a_record_key_is_the_value_for_one_variable_and_a_tuple_in_mapping_order_for_more() -> None:
    record = {"a": "1", "b": {"c": "2"}, "d": 3}
    one, two, three = (compile_extractor(RecordMapping(keys=keys)) for keys in (["a"], ["b", "c"], ["d"]))
    assert compile_record_key([two])(record) == "2"
    assert compile_record_key([two, one])(record) == ("2", "1")
    assert compile_record_key([three, one, two])(record) == ("3", "1", "2")
    assert compile_record_key([])(record) == ()


def test_routes_decide_each_distinct_key_once_and_start_over_past_the_cache_limit() -> None:
    tested: list[str | None] = []

    def drops_db(value: str | None) -> bool:
        tested.append(value)
        return value == "db"

    template = Template("my.app.[record-kind].[record-zone]").for_object({}, {})
    routes = RecordRoutes(template, BoundFilter(False, ((("kind", drops_db),),)), ("kind", "zone"))
    assert [routes.decide(key) for key in [("web", "eu"), ("db", "eu"), ("web", None)]] == [
        "my.app.web.eu",
        None,
        "my.app.web.null",
    ]
    assert routes.decided == {("web", "eu"): "my.app.web.eu", ("db", "eu"): None, ("web", None): "my.app.web.null"}
    assert tested == ["web", "db", "web"]
    for n in range(CACHE_LIMIT - 3):
        routes.decide((f"k{n}", None))
    assert len(routes.decided) == CACHE_LIMIT
    routes.decide(("web", "us"))
    assert routes.decided == {("web", "us"): "my.app.web.us"}


def ndjson_pipeline() -> ServicePipeline:
    service = Service.model_validate(
        {
            "file_format": {"type": "line_split_processor", "config": {"json": True}},
            "record_field_mapping": {"kind": {"keys": ["kind"]}},
            "routing_template": "my.app.[record-kind]",
        }
    )
    return ServicePipeline("test", service, sqs_values={})


class GcWatchingProcessor:
    """Yields one run per chunk and notes whether the garbage collector was enabled while it worked."""

    def __init__(self, *, fail_after: int | None = None) -> None:
        self.enabled_while_making: list[bool] = []
        self._fail_after = fail_after

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        for index, chunk in enumerate(chunks):
            if index == self._fail_after:
                raise PermanentObjectError("broken")
            self.enabled_while_making.append(gc.isenabled())
            yield Records([chunk], [{"kind": "web"}])


def run_with(processor: GcWatchingProcessor, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the collector was enabled each time the pipeline handed a run over."""
    monkeypatch.setattr(pipeline_module, "build_processor", lambda file_format, parse_records: processor)
    chunks = iter([b"a", b"b", b"c"])
    monkeypatch.setattr(pipeline_module, "decompressed_chunks", lambda stream, encoding: chunks)
    enabled_at_yield = []
    for _ in ndjson_pipeline().run(io.BytesIO(b""), "k", ObjectContext(source="k")):
        enabled_at_yield.append(gc.isenabled())
    return enabled_at_yield


def test_the_collector_is_paused_while_a_run_is_made_and_back_whenever_a_run_is_handed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processor = GcWatchingProcessor()
    assert run_with(processor, monkeypatch) == [True, True, True]
    assert processor.enabled_while_making == [False, False, False]
    assert gc.isenabled()


def test_an_object_that_fails_midway_leaves_the_collector_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PermanentObjectError):
        run_with(GcWatchingProcessor(fail_after=1), monkeypatch)
    assert gc.isenabled()


def test_a_collector_disabled_by_someone_else_stays_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.disable()
    try:
        assert run_with(GcWatchingProcessor(), monkeypatch) == [False, False, False]
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_pipeline_loads_pyarrow_only_for_parquet_objects() -> None:
    """pyarrow costs ~35 MiB of RSS in every process that imports it."""
    code = "import sys, devo_sqs.processing.pipeline, devo_sqs.processing.services; print('pyarrow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
