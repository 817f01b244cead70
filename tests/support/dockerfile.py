"""Just enough of a Dockerfile reader for tests to check the image against the code: instructions with their
continuation lines joined, the final stage, ENV pairs, VOLUME lists, exec- or shell-form commands."""

from __future__ import annotations

import configparser
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Instruction:
    name: str  # upper case: FROM, RUN, ENV, ...
    args: str  # the rest of the (joined) line


def instructions(text: str) -> list[Instruction]:
    """Every instruction; comment lines (even inside a continuation) are dropped, continuations joined."""
    parsed: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        if pending.strip():
            name, _, args = pending.strip().partition(" ")
            parsed.append(Instruction(name.upper(), args.strip()))
        pending = ""
    return parsed


def final_stage(parsed: list[Instruction]) -> list[Instruction]:
    """The instructions of the last stage (the image that runs), from its FROM on."""
    starts = [index for index, instruction in enumerate(parsed) if instruction.name == "FROM"]
    return parsed[starts[-1] :]


def env_pairs(stage: list[Instruction]) -> dict[str, str]:
    """ENV KEY=VALUE ... pairs, quotes removed (the `ENV KEY VALUE` form is not used here)."""
    pairs: dict[str, str] = {}
    for instruction in stage:
        if instruction.name == "ENV":
            for word in shlex.split(instruction.args):
                key, _, value = word.partition("=")
                pairs[key] = value
    return pairs


def volumes(stage: list[Instruction]) -> list[str]:
    declared: list[str] = []
    for instruction in stage:
        if instruction.name == "VOLUME":
            args = instruction.args
            declared += json.loads(args) if args.startswith("[") else args.split()
    return declared


def command(args: str) -> list[str]:
    """An exec-form (JSON array) or shell-form command as argv."""
    return list(json.loads(args)) if args.startswith("[") else shlex.split(args)


def last(stage: list[Instruction], name: str) -> Instruction:
    return [instruction for instruction in stage if instruction.name == name][-1]


def console_scripts() -> dict[str, str]:
    """`name -> module:function` from setup.cfg's [options.entry_points]."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    scripts: dict[str, str] = {}
    for line in setup["options.entry_points"]["console_scripts"].strip().splitlines():
        name, _, target = line.partition("=")
        scripts[name.strip()] = target.strip()
    return scripts
