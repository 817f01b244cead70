"""Collector Server mode: with no CONFIG argument the configuration comes from the two files a Devo Collector
Server provides - the job config (`global_overrides` + `inputs`) and the collector config (`globals` +
`outputs`) - with the job's overrides merged over the collector's globals. Problems name the file they are in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devo_sqs.config.loader import Locate, dotted_path, load_config, merge_service, parse_config, read_document
from devo_sqs.config.models import CollectorConfig
from devo_sqs.errors import ConfigError

JOB_CONFIG_ENV = "DEVO_SQS_JOB_CONFIG"
COLLECTOR_CONFIG_ENV = "DEVO_SQS_COLLECTOR_CONFIG"
DEFAULT_JOB_CONFIG = "/etc/devo/job/job_config.json"
DEFAULT_COLLECTOR_CONFIG = "/etc/devo/collector/collector_config.json"


@dataclass(frozen=True)
class FileKind:
    """What one of the two files is, which env var moves it and which top-level sections it holds."""

    what: str
    env_var: str
    sections: tuple[str, ...]


JOB = FileKind("job config", JOB_CONFIG_ENV, ("global_overrides", "inputs"))
COLLECTOR = FileKind("collector config", COLLECTOR_CONFIG_ENV, ("globals", "outputs"))


@dataclass(frozen=True)
class ServerFiles:
    """Where the Collector Server put the job config and the collector config."""

    job: Path
    collector: Path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServerFiles:
        """The standard paths, unless `DEVO_SQS_JOB_CONFIG` / `DEVO_SQS_COLLECTOR_CONFIG` name others."""
        env = os.environ if environ is None else environ
        return cls(
            job=Path(env.get(JOB_CONFIG_ENV) or DEFAULT_JOB_CONFIG),
            collector=Path(env.get(COLLECTOR_CONFIG_ENV) or DEFAULT_COLLECTOR_CONFIG),
        )

    def __str__(self) -> str:
        return f"{self.job} + {self.collector}"


def load_config_source(config: str | None, *, check_files: bool = False) -> tuple[CollectorConfig, str]:
    """The CONFIG file when one is given, else Collector Server mode; also says where the config came from.
    An empty CONFIG counts as none, so an image can run `devo-sqs run "$CONFIG_FILE"` in either mode.
    `check_files`: the certificate and key files it names must be readable here."""
    if config:
        return load_config(config, check_files=check_files), config
    files = ServerFiles.from_environment()
    return load_server_config(files, check_files=check_files), f"{files} (Collector Server mode)"


def load_server_config(files: ServerFiles, *, check_files: bool = False) -> CollectorConfig:
    """Read both files, merge them into the collector layout and validate; every problem of both at once."""
    job, job_problems = _read_sections(files.job, JOB)
    collector, collector_problems = _read_sections(files.collector, COLLECTOR)
    if job_problems or collector_problems:
        raise ConfigError(job_problems + collector_problems)
    overrides = job.get("global_overrides") or {}
    return parse_config(merged_document(job, collector), locate=_locator(files, overrides), check_files=check_files)


def merged_document(job: Mapping[str, Any], collector: Mapping[str, Any]) -> dict[str, Any]:
    """The collector layout: the collector's globals with the job's overrides over them, its outputs, the
    job's inputs. No outputs in the collector config means the console, as in the job layout."""
    document = {"globals": merge_service(collector.get("globals") or {}, job.get("global_overrides") or {})}
    for section, source in (("outputs", collector), ("inputs", job)):
        if source.get(section) is not None:
            document[section] = source[section]
    return document


def _read_sections(path: Path, kind: FileKind) -> tuple[dict[str, Any], list[str]]:
    """The file's top-level mapping, or the problems that keep it from being one of `kind`."""
    if not path.exists():
        hint = f"Collector Server mode, as no CONFIG was given; set {kind.env_var} to read another file"
        return {}, [f"{path}: {kind.what} not found ({hint})"]
    try:
        raw = read_document(path)
    except ConfigError as exc:
        return {}, exc.problems
    raw = {} if raw is None else raw
    has = " and ".join(kind.sections)
    if not isinstance(raw, Mapping):
        return {}, [f"{path}: a {kind.what} is a mapping with {has}"]
    problems = [f"{path}: {key}: unknown key (a {kind.what} has {has})" for key in raw if key not in kind.sections]
    problems += [
        f"{path}: {key}: expected a mapping"
        for key in kind.sections
        if raw.get(key) is not None and not isinstance(raw[key], Mapping)
    ]
    return ({}, problems) if problems else (dict(raw), [])


def _locator(files: ServerFiles, overrides: Mapping[str, Any]) -> Locate:
    """Name the file (and the key as written there) each problem comes from."""

    def locate(loc: tuple[Any, ...]) -> str:
        section, rest = (loc[0], loc[1:]) if loc else ("inputs", ())
        if section == "globals" and _holds(overrides, rest):
            return f"{files.job}: {dotted_path(('global_overrides', *rest))}"
        path = files.collector if section in COLLECTOR.sections else files.job
        return f"{path}: {dotted_path(loc)}"

    return locate


def _holds(mapping: Any, path: tuple[Any, ...]) -> bool:
    """Whether `mapping` has a value at `path` (so a problem there was written in it)."""
    for part in path:
        if not isinstance(mapping, Mapping) or part not in mapping:
            return False
        mapping = mapping[part]
    return bool(path)
