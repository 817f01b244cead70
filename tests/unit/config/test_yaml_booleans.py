"""Config YAML is read with YAML 1.2 booleans: only true/false are booleans, so `on: /` in a split rule and
values like `yes`, `no`, `on`, `off`, `y`, `n` stay the strings the operator wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from devo_sqs.config.loader import load_config, yaml_load
from devo_sqs.config.models import SplitOp

CONFIG = """\
globals:
  debug: true
inputs:
  sqs_collector:
    id: "12345"
    base_url: https://sqs.eu-west-1.amazonaws.com/123456789012/logs
    ack_messages: false
    services:
      custom_service:
        file_format: {type: line_split_processor, config: {json: true}}
        record_field_mapping:
          status: {keys: [status]}
          enabled: {keys: [enabled]}
          consent: {keys: [consent]}
        file_field_definitions:
          log_type: [{operator: split, on: /, element: 0}]
          answer: [{operator: replace, to_replace: on, replace_with: yes}]
        line_filter_rules:
          - [{source: record, key: status, type: in, value: [yes, no, on, off, y, n]}]
          - [{source: record, key: enabled, type: match, value: false}]
          - [{source: record, key: consent, type: match, value: No}]
        routing_template: my.app.[file-log_type]
"""


def test_on_yes_no_off_y_n_stay_strings_and_only_true_false_are_booleans(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    config = load_config(path)
    assert config.globals.debug is True
    spec = config.inputs.sqs_collector
    assert spec.ack_messages is False
    service = spec.services["custom_service"]
    assert service.file_field_definitions["log_type"] == [SplitOp(operator="split", on="/", element=0)]
    replace = service.file_field_definitions["answer"][0]
    assert (replace.to_replace, replace.replace_with) == ("on", "yes")  # type: ignore[union-attr]
    status, enabled, consent = (group[0].value for group in service.line_filter_rules)
    assert status == ["yes", "no", "on", "off", "y", "n"]
    assert enabled is False
    assert consent == "No"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        ("yes", "yes"),
        ("No", "No"),
        ("ON", "ON"),
        ("off", "off"),
        ("y", "y"),
        ("n", "n"),
        ("'true'", "true"),
        ("truely", "truely"),
        ("~", None),
        ("12", 12),
    ],
)
def test_each_scalar_resolves_as_yaml_1_2_would(text: str, value: object) -> None:
    assert yaml_load(f"key: {text}") == {"key": value}


def test_on_as_a_mapping_key_stays_the_string_on() -> None:
    assert yaml_load("{operator: split, on: /, element: -1}") == {"operator": "split", "on": "/", "element": -1}
