"""docs/scaling.md stays true to the product: it sizes every predefined service, its worked examples add up with the
rates its tables hold, and the README links it and the monitoring files."""

from __future__ import annotations

import re

from devo_sqs.config.loader import predefined_services
from tests.support.dockerfile import ROOT

DOC = (ROOT / "docs" / "scaling.md").read_text()
EXAMPLE = re.compile(
    r"cores = ([\d.,]+) x 0\.007 \+ ([\d.,]+) / ([\d.,]+) \+ ([\d.,]+) x 0\.009 = ([\d.]+) \+ ([\d.]+) \+ ([\d.]+)"
    r" = ([\d.]+)"
)


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_every_predefined_service_is_sized() -> None:
    measured = {line.split("|")[1].strip() for line in DOC.splitlines() if line.startswith("| aws_sqs_")}
    pointed = set(re.findall(r"`(aws_sqs_\w+)` (?:runs|dispatches) ", DOC))  # to the rows of what they run
    assert measured | pointed == set(predefined_services()) - {"custom_service"}
    assert pointed == {"aws_sqs_cloudwatch_vpc", "aws_sqs_control_tower"}


def test_the_worked_examples_add_up_with_rates_from_the_tables() -> None:
    examples = EXAMPLE.findall(DOC)
    assert len(examples) == 4
    for objects, records, rate, mebibytes, per_object, per_record, per_byte, cores in map(
        lambda found: [number(value) for value in found], examples
    ):
        assert abs(per_object - objects * 0.007) < 0.006
        assert abs(per_record - records / rate) < 0.006
        assert abs(per_byte - mebibytes * 0.009) < 0.006
        assert abs(cores - (per_object + per_record + per_byte)) < 0.011
        assert f"| {rate:,.0f} |" in DOC  # a measured rate, not an invented one


def test_the_readme_links_the_scaling_doc_and_the_monitoring_files() -> None:
    readme = (ROOT / "README.md").read_text()
    for target in ("docs/scaling.md", "deploy/grafana/devo-sqs.json", "deploy/prometheus/devo-sqs-rules.yaml"):
        assert f"]({target})" in readme
        assert (ROOT / target).is_file()
