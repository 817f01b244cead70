"""deploy/prometheus's alert rules and deploy/grafana's dashboard are what Prometheus and Grafana read: rules in
Prometheus's rule file format, each saying what to do; every query PromQL that parses; each alert firing on the
condition it names and quiet without it (promtool's rule tests). That every metric they name is one the collector
serves is checked against a running collector in tests/integration/test_monitoring_metrics.py."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.monitoring import (
    GRAFANA_VALUES,
    REQUIRE_PROMTOOL,
    RULES_PATH,
    alerting_rules,
    dashboard,
    find_promtool,
    grafana_query,
    metric_names,
    panels,
    promtool,
    queries,
    rules,
)

RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
DURATION = re.compile(r"(\d+[smhdwy])+")
POD = {"job": "devo-sqs", "instance": "pod-0"}


def test_the_rules_file_is_one_group_of_alerts_each_with_a_severity_a_summary_and_what_to_do() -> None:
    [group] = rules()["groups"]
    assert set(group) == {"name", "rules"} and group["name"] == "devo-sqs"
    names = [rule["alert"] for rule in group["rules"]]
    assert len(names) == len(set(names)) == 16
    for rule in group["rules"]:
        assert set(rule) <= RULE_KEYS and {"alert", "expr", "labels", "annotations"} <= set(rule), rule["alert"]
        assert re.fullmatch(r"DevoSqs[A-Z][A-Za-z]+", rule["alert"])
        assert "for" not in rule or DURATION.fullmatch(rule["for"]), rule["alert"]
        assert set(rule["labels"]) == {"severity"} and rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert set(rule["annotations"]) == {"summary", "description"}, rule["alert"]
        assert "{{" not in rule["annotations"]["summary"] + rule["annotations"]["description"]  # plain text
        assert len(rule["annotations"]["description"]) > 150, rule["alert"]


def test_the_alerts_cover_what_an_operator_must_hear_of() -> None:
    read = {rule["alert"]: metric_names(rule["expr"]) for rule in alerting_rules()}
    assert read == {
        "DevoSqsMetricsAbsent": {"devo_sqs_problems"},
        "DevoSqsUnhealthy": {"devo_sqs_problems"},
        "DevoSqsCollectionStalled": {"devo_sqs_messages_in_flight", "devo_sqs_seconds_since_settlement"},
        "DevoSqsLagGrowing": {"devo_sqs_sqs_message_age_seconds"},
        "DevoSqsLagHigh": {"devo_sqs_sqs_message_age_seconds"},
        "DevoSqsOutputDown": {"devo_sqs_sender_down"},
        "DevoSqsSpoolGrowing": {"devo_sqs_spool_bytes"},
        "DevoSqsSpoolNearlyFull": {"devo_sqs_spool_bytes"},
        "DevoSqsSpoolFailing": {"devo_sqs_spool_failing"},
        "DevoSqsMessagesFailingPermanently": {"devo_sqs_messages_failed_permanently_total"},
        "DevoSqsMessagesDropped": {"devo_sqs_messages_dropped_total"},
        "DevoSqsRecordsResent": {"devo_sqs_records_resent_total"},
        "DevoSqsProcessRestarts": {"devo_sqs_process_restarts_total"},
        "DevoSqsThreadRestarts": {"devo_sqs_thread_restarts_total"},
        "DevoSqsAccessErrors": {"devo_sqs_access_errors_total"},
        "DevoSqsRecordsMalformed": {"devo_sqs_records_total"},
    }


def test_every_query_of_the_rules_and_the_dashboard_is_promql_reading_devo_sqs_metrics() -> None:
    found = list(queries())
    assert len(found) > 16 + 30
    for where, expr in found:
        try:
            names = metric_names(expr)
        except ValueError as exc:
            raise AssertionError(f"{where}: {exc}: {expr}") from None
        assert names and all(name.startswith("devo_sqs_") for name in names), (where, names)


def test_the_promql_reader_rejects_what_prometheus_rejects_and_finds_every_metric() -> None:
    expr = 'max by (job) (a) > 3 and deriv(max(b{x="1"})[30m:1m]) > 0 or histogram_quantile(0.9, rate(c_bucket[5m]))'
    assert metric_names(expr) == {"a", "b", "c_bucket"}
    for broken, reason in [
        ("sum(rate(a_total[5m])", "unclosed left parenthesis"),
        ("rat(a_total[5m])", "unknown function with name 'rat'"),
        ("rate(a_total)", "expected type matrix in call to function 'rate', got vector"),
        ('{job="x"}', "a selector without a metric name"),
    ]:
        with pytest.raises(ValueError, match=re.escape(reason)):
            metric_names(broken)


def test_grafana_variables_are_replaced_and_an_unknown_one_is_an_error() -> None:
    assert grafana_query('rate(a_total{job=~"$job"}[$__rate_interval])') == 'rate(a_total{job=~"devo-sqs"}[1m])'
    assert grafana_query("${instance}") == GRAFANA_VALUES["instance"]
    with pytest.raises(KeyError):
        grafana_query("rate(a_total[$__unknown])")


def test_the_dashboard_imports_with_the_prometheus_data_source_as_a_variable() -> None:
    board = dashboard()
    assert (board["uid"], board["title"]) == ("devo-sqs", "devo-sqs")
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert list(variables) == ["datasource", "job", "instance"]
    assert (variables["datasource"]["type"], variables["datasource"]["query"]) == ("datasource", "prometheus")
    source = {"type": "prometheus", "uid": "${datasource}"}
    assert variables["job"]["datasource"] == variables["instance"]["datasource"] == source
    for panel in panels():
        assert panel["datasource"] == source, panel["title"]
        assert all(target["datasource"] == source for target in panel["targets"]), panel["title"]
        assert [target["refId"] for target in panel["targets"]] == [chr(65 + i) for i in range(len(panel["targets"]))]
        # Every query follows the job and pod pickers.
        for target in panel["targets"]:
            assert 'job=~"$job",instance=~"$instance"' in target["expr"], (panel["title"], target["expr"])


def test_every_dashboard_panel_says_what_it_shows_and_what_to_do_and_none_overlap() -> None:
    board = dashboard()
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    titles = [panel["title"] for panel in panels()]
    assert len(titles) == len(set(titles)) == 29
    taken: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        assert panel["type"] in {"row", "stat", "timeseries"}
        if panel["type"] != "row":
            assert len(panel["description"]) > 80, panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}
        assert not cells & taken, panel["title"]
        taken |= cells


# --- promtool ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_promtool() -> None:
    """Skips without promtool, but fails where DEVO_SQS_REQUIRE_PROMTOOL is set (.ci/run installs promtool)."""
    if find_promtool() is None:
        if os.environ.get(REQUIRE_PROMTOOL):
            pytest.fail(f"{REQUIRE_PROMTOOL} is set but promtool is not on PATH")
        pytest.skip("promtool not found (it comes with Debian's prometheus package)")


def test_promtool_accepts_the_rules_file(with_promtool: None) -> None:
    result = promtool("check", "rules", RULES_PATH)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 16 rules found" in result.stdout


@dataclass(frozen=True)
class Scenario:
    """Series sampled every minute (promtool's expanding notation: `0+60x30` is 0, 60, ... 31 samples), the alert
    looked at, when, and the labels of each alert expected to fire then (none: it must stay quiet)."""

    alert: str
    series: dict[str, str]
    at: str
    fires: list[dict[str, str]] = field(default_factory=list)


def series(name: str, **labels: str) -> str:
    pairs = ",".join(f'{key}="{value}"' for key, value in {**POD, **labels}.items())
    return f"{name}{{{pairs}}}"


SENDER = "SyslogSender(standard_senders,relay_0)"
SCENARIOS = [
    Scenario("DevoSqsMetricsAbsent", {}, "11m", [{}]),
    Scenario("DevoSqsMetricsAbsent", {series("devo_sqs_problems"): "0x20"}, "15m"),
    Scenario("DevoSqsUnhealthy", {series("devo_sqs_problems"): "1x10"}, "6m", [POD]),
    Scenario("DevoSqsUnhealthy", {series("devo_sqs_problems"): "0x10"}, "6m"),
    Scenario(
        "DevoSqsCollectionStalled",
        {series("devo_sqs_messages_in_flight"): "3x20", series("devo_sqs_seconds_since_settlement"): "700+60x20"},
        "10m",
        [POD],
    ),
    Scenario(  # idle: nothing in flight, so nothing to settle
        "DevoSqsCollectionStalled",
        {series("devo_sqs_messages_in_flight"): "0x20", series("devo_sqs_seconds_since_settlement"): "700+60x20"},
        "10m",
    ),
    Scenario(
        "DevoSqsLagGrowing", {series("devo_sqs_sqs_message_age_seconds"): "0+60x60"}, "40m", [{"job": "devo-sqs"}]
    ),
    Scenario("DevoSqsLagGrowing", {series("devo_sqs_sqs_message_age_seconds"): "900x60"}, "40m"),  # behind, steady
    Scenario("DevoSqsLagHigh", {series("devo_sqs_sqs_message_age_seconds"): "4000x30"}, "20m", [{"job": "devo-sqs"}]),
    Scenario("DevoSqsLagHigh", {series("devo_sqs_sqs_message_age_seconds"): "3000x30"}, "20m"),
    Scenario(
        "DevoSqsOutputDown", {series("devo_sqs_sender_down", sender=SENDER): "1x10"}, "6m", [{**POD, "sender": SENDER}]
    ),
    Scenario("DevoSqsOutputDown", {series("devo_sqs_sender_down", sender=SENDER): "1 1 0 0 1 1 0 0 0 0"}, "8m"),
    Scenario(
        "DevoSqsSpoolGrowing",
        {series("devo_sqs_spool_bytes", manager="standard"): "0+1000000x40"},
        "30m",
        [{**POD, "manager": "standard"}],
    ),
    Scenario("DevoSqsSpoolGrowing", {series("devo_sqs_spool_bytes", manager="standard"): "40000000-1000000x40"}, "30m"),
    Scenario(
        "DevoSqsSpoolNearlyFull",
        {series("devo_sqs_spool_bytes", manager="standard"): "900000000x10"},
        "6m",
        [{**POD, "manager": "standard"}],
    ),
    Scenario("DevoSqsSpoolNearlyFull", {series("devo_sqs_spool_bytes", manager="standard"): "500000000x10"}, "6m"),
    Scenario(
        "DevoSqsSpoolFailing",
        {series("devo_sqs_spool_failing", manager="standard"): "1x5"},
        "3m",
        [{**POD, "manager": "standard"}],
    ),
    Scenario("DevoSqsSpoolFailing", {series("devo_sqs_spool_failing", manager="standard"): "0x5"}, "3m"),
    Scenario(
        "DevoSqsMessagesFailingPermanently",
        {series("devo_sqs_messages_failed_permanently_total"): "0 0 0 1 1 1"},
        "5m",
        [POD],
    ),
    Scenario(  # retried failures are not permanent ones
        "DevoSqsMessagesFailingPermanently",
        {
            series("devo_sqs_messages_failed_permanently_total"): "0x10",
            series("devo_sqs_messages_failed_total"): "0+5x10",
        },
        "10m",
    ),
    Scenario("DevoSqsMessagesDropped", {series("devo_sqs_messages_dropped_total"): "0 0 2 2 2"}, "4m", [POD]),
    Scenario("DevoSqsMessagesDropped", {series("devo_sqs_messages_dropped_total"): "2x30"}, "30m"),  # long ago
    Scenario(
        "DevoSqsRecordsResent",
        {series("devo_sqs_records_resent_total", manager="standard"): "0 0 100 100"},
        "3m",
        [{**POD, "manager": "standard"}],
    ),
    Scenario("DevoSqsRecordsResent", {series("devo_sqs_records_resent_total", manager="standard"): "0x10"}, "10m"),
    Scenario("DevoSqsProcessRestarts", {series("devo_sqs_process_restarts_total"): "0 0 1 1"}, "3m", [POD]),
    Scenario(  # a pod that starts again begins at 0: no restart of the children
        "DevoSqsProcessRestarts", {series("devo_sqs_process_restarts_total"): "0x5 _x3 0x5"}, "12m"
    ),
    Scenario(
        "DevoSqsThreadRestarts",
        {series("devo_sqs_thread_restarts_total", process="input"): "0 1 2 3 4 5"},
        "5m",
        [{**POD, "process": "input"}],
    ),
    Scenario("DevoSqsThreadRestarts", {series("devo_sqs_thread_restarts_total", process="input"): "0 1 1 1 1 1"}, "5m"),
    Scenario("DevoSqsAccessErrors", {series("devo_sqs_access_errors_total"): "0 0 1 1"}, "3m", [POD]),
    Scenario("DevoSqsAccessErrors", {series("devo_sqs_access_errors_total"): "0x10"}, "10m"),
    Scenario(
        "DevoSqsRecordsMalformed",
        {series("devo_sqs_records_total", service="aws_sqs_vpc", outcome="failed"): "0 0 2 2"},
        "3m",
        [{"job": "devo-sqs", "service": "aws_sqs_vpc"}],
    ),
    Scenario(
        "DevoSqsRecordsMalformed",
        {
            series("devo_sqs_records_total", service="aws_sqs_vpc", outcome="sent"): "0+1000x10",
            series("devo_sqs_records_total", service="aws_sqs_vpc", outcome="failed"): "0x10",
        },
        "10m",
    ),
]


def test_every_alert_has_a_scenario_that_fires_it_and_one_that_does_not() -> None:
    alerts = [rule["alert"] for rule in alerting_rules()]
    assert sorted({s.alert for s in SCENARIOS if s.fires}) == sorted(alerts)
    assert sorted({s.alert for s in SCENARIOS if not s.fires}) == sorted(alerts)


def test_each_alert_fires_on_its_condition_and_stays_quiet_without_it(with_promtool: None, tmp_path: Path) -> None:
    tests_file = tmp_path / "rules-test.yaml"
    tests_file.write_text(yaml.safe_dump(rule_tests(SCENARIOS)))
    result = promtool("test", "rules", tests_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rule_tests_fail_when_an_alert_does_not_fire_as_expected(with_promtool: None, tmp_path: Path) -> None:
    wrong = Scenario("DevoSqsUnhealthy", {series("devo_sqs_problems"): "1x10"}, "3m", [POD])  # before its 5 minutes
    tests_file = tmp_path / "rules-test.yaml"
    tests_file.write_text(yaml.safe_dump(rule_tests([wrong])))
    result = promtool("test", "rules", tests_file)
    assert result.returncode == 1
    assert "alertname: DevoSqsUnhealthy, time: 3m" in result.stderr + result.stdout


def rule_tests(scenarios: list[Scenario]) -> dict[str, Any]:
    """promtool's rule test file: one test per scenario, the expected alerts with the rule's own annotations."""
    by_name = {rule["alert"]: rule for rule in alerting_rules()}
    return {
        "rule_files": [str(RULES_PATH)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": name, "values": values} for name, values in scenario.series.items()],
                "alert_rule_test": [
                    {
                        "eval_time": scenario.at,
                        "alertname": scenario.alert,
                        "exp_alerts": [
                            {
                                "exp_labels": {**labels, **by_name[scenario.alert]["labels"]},
                                "exp_annotations": by_name[scenario.alert]["annotations"],
                            }
                            for labels in scenario.fires
                        ],
                    }
                ],
            }
            for scenario in scenarios
        ],
    }
