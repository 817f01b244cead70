"""The Grafana dashboard and the Prometheus rules in deploy/, read for tests: every PromQL query they hold (Grafana's
variables replaced by sample values so the query parses), the metric names a query reads, and promtool."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from tests.support.dockerfile import ROOT

RULES_PATH = ROOT / "deploy" / "prometheus" / "devo-sqs-rules.yaml"
DASHBOARD_PATH = ROOT / "deploy" / "grafana" / "devo-sqs.json"
REQUIRE_PROMTOOL = "DEVO_SQS_REQUIRE_PROMTOOL"  # set (CI): a missing promtool fails its tests instead of skipping

# What Grafana puts in place of its variables before a query reaches Prometheus (one sample value each).
GRAFANA_VALUES = {
    "__rate_interval": "1m",
    "__interval": "30s",
    "__range": "6h",
    "job": "devo-sqs",
    "instance": "10.0.0.7:9100",
}
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def rules() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(RULES_PATH.read_text())
    return document


def alerting_rules() -> list[dict[str, Any]]:
    return [rule for group in rules()["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD_PATH.read_text())
    return document


def panels() -> list[dict[str, Any]]:
    """Every panel but the rows."""
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def grafana_query(expr: str) -> str:
    """The query as Grafana sends it; a variable Grafana would not know raises KeyError."""
    return _VARIABLE.sub(lambda match: GRAFANA_VALUES[match.group(1) or match.group(2)], expr)


def queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every alert rule and every dashboard query."""
    yield from rule_queries()
    yield from dashboard_queries()


def rule_queries() -> Iterator[tuple[str, str]]:
    for rule in alerting_rules():
        yield f"rule {rule['alert']}", rule["expr"]


def dashboard_queries() -> Iterator[tuple[str, str]]:
    """The panels' queries and the variables' selectors, Grafana's variables replaced."""
    for panel in panels():
        for target in panel["targets"]:
            yield f"panel {panel['title']!r} {target['refId']}", grafana_query(target["expr"])
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", _label_values_selector(grafana_query(variable["query"]["query"]))


def metric_names(expr: str) -> set[str]:
    """The metric names a query reads; raises ValueError when it is not PromQL (with the parser's reason)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if not node.name:
                raise ValueError(f"a selector without a metric name: {node}")
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return names


def _label_values_selector(query: str) -> str:
    """`label_values(SELECTOR, label)` (Grafana's, not PromQL) -> SELECTOR."""
    match = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
    if match is None:
        raise ValueError(f"not a label_values(selector, label) query: {query}")
    return match.group(1)


def find_promtool() -> str | None:
    return shutil.which("promtool")


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Runs promtool (found on PATH) with a deadline; the caller checks the result."""
    binary = find_promtool()
    assert binary is not None
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=120)
