"""Read a config file (YAML or JSON, collector or Collector Server job layout), merge the predefined
service definitions into the user's overrides, and validate it all at once.

Every problem is reported together, each with its path; nothing here touches the network. YAML is read with
YAML 1.2 booleans, so `on`, `off`, `yes`, `no` stay strings.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from devo_sqs.config.files import CHECK_FILES
from devo_sqs.config.models import CollectorConfig
from devo_sqs.config.processors import PROCESSOR_CONFIGS
from devo_sqs.errors import ConfigError

OUTPUT_TYPES = ("console", "relay", "syslog", "devo_platform", "relp")

BOOL_TAG = "tag:yaml.org,2002:bool"


class ConfigYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (only true/false). YAML 1.1 also reads on/off/yes/no as booleans,
    which silently turns `{operator: split, on: /}` into a rule whose key is True."""


ConfigYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigYamlLoader.add_implicit_resolver(BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

Locate = Callable[[tuple[Any, ...]], str]
"""Turns a problem's location into the text shown before it (Collector Server mode adds the file)."""


def dotted_path(loc: tuple[Any, ...]) -> str:
    """`inputs.sqs_collector.base_url`; `(top level)` for the document itself."""
    return ".".join(str(part) for part in loc) or "(top level)"


def yaml_load(text: str) -> Any:
    """YAML (or JSON) text as Python values, with YAML 1.2 booleans."""
    return yaml.load(text, Loader=ConfigYamlLoader)  # a SafeLoader: builds no arbitrary objects


@cache
def predefined_services() -> dict[str, dict[str, Any]]:
    """The shipped service definitions, by name."""
    text = resources.files("devo_sqs.config").joinpath("collector_definitions.yaml").read_text("utf-8")
    definitions: dict[str, dict[str, Any]] = yaml_load(text)
    return definitions


def load_config(path: str | Path, *, check_files: bool = False) -> CollectorConfig:
    """Parse, merge and validate the file at `path`; raise ConfigError listing every problem.
    `check_files`: the certificate and key files it names must be readable here."""
    return parse_config(read_document(path), check_files=check_files)


def read_document(path: str | Path) -> Any:
    """The file's YAML/JSON content; unreadable or malformed files are ConfigErrors naming the path."""
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}"]) from None
    try:
        return yaml_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML/JSON: {exc}"]) from None


def parse_config(raw: Any, *, locate: Locate = dotted_path, check_files: bool = False) -> CollectorConfig:
    """Validate a whole document; each problem is reported as `locate(path): reason`."""
    if not isinstance(raw, Mapping):
        raise ConfigError([f"{locate(())}: expected a mapping with 'inputs'"])
    document = _collector_layout(raw)
    try:
        return CollectorConfig.model_validate(document, context={CHECK_FILES: check_files})
    except ValidationError as exc:
        raise ConfigError([_describe(error, locate) for error in exc.errors()]) from None


def _collector_layout(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Accept the Collector Server job layout (`global_overrides` + `inputs`) as well."""
    document = dict(raw)
    if "global_overrides" in document:
        overrides = document.pop("global_overrides") or {}
        base = document.get("globals") or {}
        document["globals"] = merge_service(base, overrides) if isinstance(base, Mapping) else base
    inputs = document.get("inputs")
    if isinstance(inputs, Mapping):
        document["inputs"] = {name: _with_definitions(spec) for name, spec in inputs.items()}
    return document


def _with_definitions(input_spec: Any) -> Any:
    """Merge each named predefined service under the user's overrides."""
    if not isinstance(input_spec, Mapping) or not isinstance(input_spec.get("services"), Mapping):
        return input_spec
    definitions = predefined_services()
    services = {
        name: merge_service(definitions.get(name) or {}, overrides or {})
        for name, overrides in input_spec["services"].items()
    }
    return {**input_spec, "services": services}


def merge_service(base: Mapping[str, Any], overrides: Any) -> Any:
    """Overrides win; nested mappings merge, except a `{type: ...}` mapping whose type changes.
    (Also how `global_overrides` merge over `globals`.)"""
    if not isinstance(overrides, Mapping):
        return overrides
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        old = merged.get(key)
        same_kind = (
            isinstance(old, Mapping)
            and isinstance(value, Mapping)
            and old.get("type") == value.get("type", old.get("type"))
        )
        merged[key] = merge_service(old, value) if same_kind and old is not None else copy.deepcopy(value)
    return merged


def _describe(error: Mapping[str, Any], locate: Locate) -> str:
    """`inputs.sqs_collector.services.x.file_format.type: unknown processor 'y'; known: ...`"""
    loc = _without_union_tags(tuple(error["loc"]))
    path = locate(loc)
    if error["type"] == "union_tag_invalid":
        tag = error["ctx"]["tag"]
        what = "processor" if loc and loc[-1] == "file_format" else "type"
        known = PROCESSOR_CONFIGS if what == "processor" else OUTPUT_TYPES
        field = error["ctx"]["discriminator"].strip("'")
        return f"{path}.{field}: unknown {what} {tag!r}; known: {', '.join(known)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{path}: {message}"


UNION_TAGS = frozenset({*PROCESSOR_CONFIGS, *OUTPUT_TYPES, "split", "replace"})


def _without_union_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """pydantic puts the chosen union member's tag in the path; an operator never wrote it."""
    kept: list[Any] = []
    for part in loc:
        follows_union = kept and (
            kept[-1] == "file_format" or isinstance(kept[-1], int) or (len(kept) == 2 and kept[0] == "outputs")
        )
        if not (follows_union and part in UNION_TAGS):
            kept.append(part)
    return tuple(kept)
