"""File variables, record mapping, filters and routing templates: the rules an operator writes."""

from __future__ import annotations

from typing import Any

import pytest

from devo_sqs.config.models import FilenameRule, LineRule, RecordMapping, ReplaceOp, SplitOp
from devo_sqs.processing.fields import as_text, compile_extractor, compile_file_variables
from devo_sqs.processing.filters import LineFilter, compile_filename_filter
from devo_sqs.processing.routing import Template, sanitize


def split(on: str, element: int) -> SplitOp:
    return SplitOp(operator="split", on=on, element=element)


def replace(old: str, new: str) -> ReplaceOp:
    return ReplaceOp(operator="replace", to_replace=old, replace_with=new)


def test_file_variables_run_split_and_replace_chains_on_the_key() -> None:
    key = "server_logs/12409834/ff.gz"
    values = compile_file_variables(
        {
            "log_type": [split("/", 0), replace("_", "")],
            "last": [split("/", -1)],
            "missing": [split("/", 7)],
            "account": [split("/", 1), split(".", 0)],
        },
    )(key)
    assert values == {"log_type": "serverlogs", "last": "ff.gz", "missing": None, "account": "12409834"}


def test_record_mapping_follows_dict_keys_and_list_indexes() -> None:
    record = {"file": {"type": {"log_type": 100}}, "items": [{"name": "a/b"}, {"name": "c/d"}], "flag": True}
    extract = {
        name: compile_extractor(mapping)
        for name, mapping in {
            "deep": RecordMapping(keys=["file", "type", "log_type"]),
            "second": RecordMapping(keys=["items", 1, "name"], operations=[split("/", -1)]),
            "last": RecordMapping(keys=["items", -1, "name"]),
            "flag": RecordMapping(keys=["flag"]),
            "absent": RecordMapping(keys=["file", "nope"]),
            "through_scalar": RecordMapping(keys=["flag", "x"]),
            "object": RecordMapping(keys=["file"]),
        }.items()
    }
    assert {name: fn(record) for name, fn in extract.items()} == {
        "deep": "100",
        "second": "d",
        "last": "c/d",
        "flag": "true",
        "absent": None,
        "through_scalar": None,
        "object": '{"type":{"log_type":100}}',
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, None), ("x", "x"), (True, "true"), (False, "false"), (3, "3"), (1.5, "1.5"), ([1], "[1]")],
)
def test_values_are_seen_as_json_spelled_text(value: Any, text: str | None) -> None:
    assert as_text(value) == text


def test_filename_rules_and_inside_a_list_or_across_lists() -> None:
    skips = compile_filename_filter(
        [
            [FilenameRule(type="match", pattern="CloudTrail-Digest")],
            [FilenameRule(type="regex", pattern=r"\.tmp$"), FilenameRule(type="doesnotmatch", pattern="keep")],
        ]
    )
    assert skips("AWSLogs/1/CloudTrail-Digest/x.json.gz")
    assert skips("a/b.tmp")
    assert not skips("a/keep.tmp")
    assert not skips("AWSLogs/1/CloudTrail/x.json.gz")


def rule(source: str, key: str, kind: str, value: Any) -> LineRule:
    return LineRule(source=source, key=key, type=kind, value=value)  # type: ignore[arg-type]


def test_line_rules_follow_the_documented_example() -> None:
    # if record.type != "ldap" OR (file.main == "main-log" AND record.type == "kube-apiserver-audit"): drop
    line_filter = LineFilter(
        [
            [rule("record", "type", "doesnotmatch", "ldap")],
            [rule("file", "main", "match", "main-log"), rule("record", "type", "match", "kube-apiserver-audit")],
        ]
    )
    on_main = line_filter.bind({"main": "main-log"})
    assert on_main.drops({"type": "kube-apiserver-audit"})
    assert not on_main.drops({"type": "ldap"})
    assert on_main.drops({"type": None})
    elsewhere = line_filter.bind({"main": "other"})
    assert len(elsewhere.groups) == 1
    assert line_filter.record_variables == {"type"}


def test_regex_contains_and_in_rules() -> None:
    bound = LineFilter(
        [
            [rule("record", "ip", "regex", r"^10\.")],
            [rule("record", "agent", "contains", "bot")],
            [rule("record", "status", "in", [500, "502"])],
        ]
    ).bind({})
    assert bound.drops({"ip": "10.1.2.3"})
    assert bound.drops({"agent": "Googlebot/2.1"})
    assert bound.drops({"status": "500"}) and bound.drops({"status": "502"})
    assert not bound.drops({"ip": "110.1.2.3", "agent": "curl", "status": "200"})
    assert not bound.drops({})


def test_groups_of_file_rules_only_are_settled_once_per_object() -> None:
    line_filter = LineFilter([[rule("file", "kind", "match", "debug")]])
    assert line_filter.bind({"kind": "debug"}).drops_everything
    assert line_filter.bind({"kind": "info"}).inactive


def test_templates_settle_file_and_sqs_values_per_object_and_sanitize_everything() -> None:
    template = Template("my.app.[file-kind].[record-type].[sqs-region]")
    per_object = template.for_object({"kind": "web logs"}, {"region": "eu-west-1"})
    assert not per_object.static
    assert per_object.render({"type": "a.b/c"}) == "my.app.web_logs.a_b_c.eu-west-1"
    assert per_object.render({"type": None}) == "my.app.web_logs.null.eu-west-1"
    assert per_object.render({}) == "my.app.web_logs.null.eu-west-1"
    static = Template("cloud.aws.rds.audit.[sqs-region].[sqs-account]").for_object(
        {}, {"region": "us-east-1", "account": "1"}
    )
    assert static.static and static.tag == "cloud.aws.rds.audit.us-east-1.1"


@pytest.mark.parametrize(
    ("value", "level"), [(None, "null"), ("", "null"), ("ok-1_2", "ok-1_2"), ("a b\n.c", "a_b__c")]
)
def test_sanitize_never_adds_levels_or_breaks_a_frame(value: str | None, level: str) -> None:
    assert sanitize(value) == level


def test_fallback_keys_are_tried_in_turn_when_the_path_is_missing() -> None:
    extract = compile_extractor(
        RecordMapping(keys=["recipientAccountId"], fallback_keys=[["userIdentity", "accountId"], ["account"]])
    )
    assert extract({"recipientAccountId": "111", "userIdentity": {"accountId": "222"}}) == "111"
    assert extract({"userIdentity": {"accountId": "222"}, "account": "333"}) == "222"
    assert extract({"account": 333}) == "333"
    assert extract({}) is None
