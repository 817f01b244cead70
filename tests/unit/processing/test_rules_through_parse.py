"""Every rule an operator writes, through `devo-sqs parse --config`: filename filters, file fields, record fields,
line filters (and sending what they drop to unknown), routing placeholders and their sanitizing, key_pattern
choosing the service, and charsets. Exact tags, messages and counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.unit.processing.parse_runs import ParseRun, config_file, parse


def record(kind: str, user: str, ips: list[str], host: str, status: int) -> dict[str, Any]:
    return {"type": kind, "actor": {"name": user}, "ips": ips, "host": host, "http": {"status": status}}


RECORDS = [
    record("login", "j.doe/admin x", ["10.0.0.1", "192.0.2.7"], "web01.example.com", 200),
    record("heartbeat", "monitor", ["10.0.0.2"], "web02.example.com", 200),
    record("metric", "svc-metrics", [], "web02.example.com", 204),
    record("metric", "svc-metrics", ["10.0.0.3"], "web01.example.com", 200),
    record("debug-trace", "dev", ["10.0.0.4"], "web01.example.com", 500),
    record("login", "svc-batch", ["10.0.0.5", "10.0.0.6"], "db01", 401),
]
LINES = [orjson.dumps(value).decode() for value in RECORDS]
NDJSON = {"type": "line_split_processor", "config": {"json": True}}
KEY = "apps/billing/eu_prod/2024/01/16/app-01.ndjson.gz"


def split(on: str, element: int) -> dict[str, Any]:
    return {"operator": "split", "on": on, "element": element}


def replace(old: str, new: str) -> dict[str, Any]:
    return {"operator": "replace", "to_replace": old, "replace_with": new}


def keys(*path: str | int, operations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"keys": list(path), "operations": operations or []}


def app_service(**options: Any) -> dict[str, Any]:
    return {"file_format": NDJSON, "routing_template": "my.app.logs", **options}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "app.ndjson"
    path.write_text("".join(line + "\n" for line in LINES))
    return path


def run(capsys: pytest.CaptureFixture[bytes], tmp_path: Path, services: dict[str, Any], *args: str | Path) -> ParseRun:
    return parse(capsys, "--config", config_file(tmp_path, services), *args)


@pytest.mark.parametrize(
    ("key", "skipped"),
    [
        ("apps/billing/prod/app.ndjson", False),
        ("apps/billing/prod/app.ndjson.tmp", True),  # match
        ("apps/billing/debug/app.ndjson", True),  # regex AND doesnotmatch
        ("apps/billing/debug/keep-app.ndjson", False),  # the regex matches, but `keep` is in the key
        ("apps/billing/prod/debug.ndjson", False),  # `/debug/` is not
    ],
)
def test_filename_rules_and_inside_a_list_and_or_across_lists(
    key: str, skipped: bool, data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    rules = [
        [{"type": "match", "pattern": ".tmp"}],
        [{"type": "regex", "pattern": "/debug/"}, {"type": "doesnotmatch", "pattern": "keep"}],
    ]
    services = {"app": app_service(filename_filter_rules=rules)}
    result = run(capsysbinary, tmp_path, services, "--service", "app", "--key", key, data)
    assert result.code == 0
    assert result.records == ([] if skipped else [("my.app.logs", line) for line in LINES])
    assert ("app.ndjson: skipped by app filename_filter_rules" in result.stderr) is skipped


def test_file_fields_split_with_negative_indexes_chain_replaces_and_render_unset_as_null(
    data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    services = {
        "app": app_service(
            file_field_definitions={
                "app": [split("/", 1)],
                "env": [split("/", -5), replace("_", "-"), replace("prod", "live")],
                "file": [split("/", -1), split(".", 0)],
                "missing": [split("/", 9)],  # out of range: unset
            },
            routing_template="my.app.[file-app].[file-env].[file-file].[file-missing]",
        )
    }
    result = run(capsysbinary, tmp_path, services, "--service", "app", "--key", KEY, data)
    assert result.records == [("my.app.billing.eu-live.app-01.null", line) for line in LINES]


RECORD_FIELDS = {
    "user": keys("actor", "name"),
    "first_ip": keys("ips", 0),
    "last_ip": keys("ips", -1),
    "host": keys("host", operations=[split(".", 0)]),
    "status": keys("http", "status"),
    "type": keys("type"),
}


def test_record_fields_follow_nested_keys_and_list_indexes_then_their_operations(
    data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    services = {
        "app": app_service(
            record_field_mapping=RECORD_FIELDS,
            routing_template="my.[record-user].[record-first_ip].[record-last_ip].[record-host].[record-status]",
        )
    }
    result = run(capsysbinary, tmp_path, services, "--service", "app", "--key", KEY, data)
    assert sorted(result.records) == sorted(
        zip(
            [
                "my.j_doe_admin_x.10_0_0_1.192_0_2_7.web01.200",  # dots, slash and space never add levels
                "my.monitor.10_0_0_2.10_0_0_2.web02.200",
                "my.svc-metrics.null.null.web02.204",  # an empty list has no index 0 or -1
                "my.svc-metrics.10_0_0_3.10_0_0_3.web01.200",
                "my.dev.10_0_0_4.10_0_0_4.web01.500",
                "my.svc-batch.10_0_0_5.10_0_0_6.db01.401",
            ],
            LINES,
            strict=True,
        )
    )


LINE_RULES = [
    [{"source": "record", "key": "type", "type": "match", "value": "heartbeat"}],
    [
        {"source": "record", "key": "user", "type": "regex", "value": "^svc-"},
        {"source": "record", "key": "status", "type": "in", "value": [200, 204]},
    ],
    [
        {"source": "file", "key": "env", "type": "match", "value": "staging"},
        {"source": "record", "key": "type", "type": "contains", "value": "debug"},
    ],
    [
        {"source": "record", "key": "host", "type": "doesnotmatch", "value": "web01"},
        {"source": "record", "key": "type", "type": "match", "value": "login"},
    ],
]


@pytest.mark.parametrize(
    ("env", "kept"),
    [("staging", [0]), ("prod", [0, 4])],  # the debug record is dropped on staging only (a file rule ANDed)
)
def test_line_rules_and_inside_a_list_and_or_across_lists_on_record_and_file_values(
    env: str, kept: list[int], data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    services = {
        "app": app_service(
            file_field_definitions={"env": [split("/", 2)]},
            record_field_mapping=RECORD_FIELDS,
            line_filter_rules=LINE_RULES,
            routing_template="my.app.[record-type]",
        )
    }
    result = run(capsysbinary, tmp_path, services, "--service", "app", "--key", f"apps/billing/{env}/app.ndjson", data)
    assert result.code == 0
    assert sorted(result.records) == sorted((f"my.app.{RECORDS[n]['type']}", LINES[n]) for n in kept)
    assert f"records=6 sent={len(kept)} filtered={6 - len(kept)} failed=0" in result.stderr


def test_what_line_rules_drop_goes_to_unknown_when_asked(
    data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    services = {
        "app": app_service(
            file_field_definitions={"env": [split("/", 2)]},
            record_field_mapping=RECORD_FIELDS,
            line_filter_rules=LINE_RULES,
            send_filtered_out_to_unknown=True,
            routing_template="my.app.[record-type]",
        )
    }
    result = run(capsysbinary, tmp_path, services, "--service", "app", "--key", "apps/billing/staging/app.ndjson", data)
    assert sorted(result.records) == sorted(
        [("my.app.login", LINES[0])] + [("unknown.unknown", LINES[n]) for n in (1, 2, 3, 4, 5)]
    )
    assert "records=6 sent=1 filtered=5 failed=0" in result.stderr


def test_a_group_of_file_rules_alone_drops_the_whole_object(
    data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    services = {
        "app": app_service(
            file_field_definitions={"env": [split("/", 2)]},
            line_filter_rules=[[{"source": "file", "key": "env", "type": "in", "value": ["staging", "dev"]}]],
        )
    }
    dropped = run(capsysbinary, tmp_path, services, "--service", "app", "--key", "apps/x/dev/app.ndjson", data)
    kept = run(capsysbinary, tmp_path, services, "--service", "app", "--key", "apps/x/prod/app.ndjson", data)
    assert (dropped.records, len(kept.records)) == ([], 6)
    assert "records=6 sent=0 filtered=6 failed=0" in dropped.stderr


def test_sqs_placeholders_are_the_region_and_account_of_the_queue(
    data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    services = {"app": app_service(routing_template="my.app.[sqs-region].[sqs-account]")}
    configured = run(capsysbinary, tmp_path, services, "--service", "app", data)
    assert configured.tags == Counter({"my.app.eu-west-1.123456789012": 6})
    other = "https://sqs.us-east-2.amazonaws.com/210987654321/app-logs"
    given = run(capsysbinary, tmp_path, services, "--service", "app", "--queue-url", other, data)
    assert given.tags == Counter({"my.app.us-east-2.210987654321": 6})


@pytest.mark.parametrize(
    ("key", "value", "tag"),
    [
        ("apps/my app.v2/x.log", "a.b/c d", "my.app.my_app_v2.a_b_c_d"),
        ("apps/../x.log", "..", "my.app.__.__"),
        ("apps/tab\there/x.log", "line\nbreak", "my.app.tab_here.line_break"),
        ("apps//x.log", "", "my.app.null.null"),  # empty values are unset
    ],
)
def test_interpolated_values_never_add_levels_or_break_the_frame(
    key: str, value: str, tag: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "one.ndjson"
    path.write_bytes(orjson.dumps({"type": value}) + b"\n")
    services = {
        "app": app_service(
            file_field_definitions={"app": [split("/", 1)]},
            record_field_mapping={"type": keys("type")},
            routing_template="my.app.[file-app].[record-type]",
        )
    }
    result = run(capsysbinary, tmp_path, services, "--service", "app", "--key", key, path)
    assert result.tags == Counter({tag: 1})


ROUTED = {
    "billing": app_service(key_pattern="^apps/billing/", routing_template="my.app.billing"),
    "legacy": {
        "key_pattern": r"^legacy/.*\.log$",
        "charset": "latin-1",
        "file_format": {"type": "line_split_processor"},
        "routing_template": "my.legacy.text",
    },
    "everything": {"file_format": {"type": "line_split_processor"}, "routing_template": "my.other.text"},
}


@pytest.mark.parametrize(
    ("key", "service", "tag"),
    [
        ("apps/billing/prod/app.ndjson", "billing", "my.app.billing"),
        ("legacy/2024/app.log", "legacy", "my.legacy.text"),
        ("legacy/2024/app.log.1", "everything", "my.other.text"),  # the first service whose pattern matches
        ("apps/shop/prod/app.ndjson", "everything", "my.other.text"),
    ],
)
def test_key_pattern_chooses_the_service_when_parse_is_not_given_one(
    key: str, service: str, tag: str, data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = run(capsysbinary, tmp_path, ROUTED, "--key", key, data)
    assert result.code == 0
    assert result.tags == Counter({tag: 6})
    assert f"app.ndjson: {service}: records=6" in result.stderr


def test_a_key_no_service_claims_is_skipped_and_a_named_service_runs_whatever_its_pattern(
    data: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    only_patterns = {name: ROUTED[name] for name in ("billing", "legacy")}
    unclaimed = run(capsysbinary, tmp_path, only_patterns, "--key", "apps/shop/app.ndjson", data)
    assert (unclaimed.code, unclaimed.records) == (0, [])
    assert "app.ndjson: no service claims key 'apps/shop/app.ndjson'; skipped" in unclaimed.stderr
    named = run(capsysbinary, tmp_path, only_patterns, "--service", "billing", "--key", "apps/shop/app.ndjson", data)
    assert named.tags == Counter({"my.app.billing": 6})


def test_latin1_files_are_sent_as_utf8_and_undecodable_utf8_is_replaced_and_counted(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "legacy.log"
    path.write_bytes("Müller señor café\nplain line\n".encode("latin-1"))
    latin = run(capsysbinary, tmp_path, ROUTED, "--service", "legacy", path)
    assert latin.records == [("my.legacy.text", "Müller señor café"), ("my.legacy.text", "plain line")]
    assert "replaced_bytes=0" in latin.stderr
    utf8 = run(capsysbinary, tmp_path, ROUTED, "--service", "everything", path)
    assert utf8.records == [("my.other.text", "M\ufffdller se\ufffdor caf\ufffd"), ("my.other.text", "plain line")]
    assert "replaced_bytes=3" in utf8.stderr


def test_parse_needs_a_service_or_a_configuration_to_choose_one(
    data: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = parse(capsysbinary, "--key", KEY, data)
    assert (result.code, result.records) == (2, [])
    assert "--service is required without --config" in result.stderr
