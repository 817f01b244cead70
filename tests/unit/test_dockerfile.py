"""The image's Dockerfile agrees with the code: the entrypoint and the health check run commands the CLI has,
the config lies on a volume, the user is not root, what it copies exists and is sent to the build.
(No Docker engine runs here: this reads the Dockerfile's text.)"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from devo_sqs.cli import build_parser
from devo_sqs.config.models import Globals
from tests.support.dockerfile import (
    ROOT,
    Instruction,
    command,
    console_scripts,
    env_pairs,
    final_stage,
    instructions,
    last,
    volumes,
)

PARSED = instructions((ROOT / "Dockerfile").read_text())
IMAGE = final_stage(PARSED)
ENV = env_pairs(IMAGE)


def with_env(argv: list[str]) -> list[str]:
    return [ENV["CONFIG_FILE"] if word == "$CONFIG_FILE" else word for word in argv]


def test_the_entrypoint_execs_the_console_script_with_run_and_the_config_file() -> None:
    shell, flag, script = command(last(IMAGE, "ENTRYPOINT").args)
    assert (shell, flag) == ("sh", "-c")
    exec_, *argv = shlex.split(script)
    assert exec_ == "exec"  # devo-sqs becomes PID 1 and gets SIGTERM itself
    assert argv == ["devo-sqs", "run", "$CONFIG_FILE"]
    assert console_scripts()[argv[0]] == "devo_sqs.cli:main"
    args = build_parser().parse_args(with_env(argv[1:]))
    assert (args.command, args.config) == ("run", "/devo-collector/config/config.yaml")


def test_the_health_check_runs_the_health_command_on_the_same_config() -> None:
    options, _, health_command = last(IMAGE, "HEALTHCHECK").args.partition(" CMD ")
    assert options.split() == ["--interval=30s", "--timeout=10s", "--start-period=60s", "--retries=3"]
    shell, flag, script = command(health_command)
    assert (shell, flag) == ("sh", "-c")
    argv = shlex.split(script)
    assert argv == ["devo-sqs", "health", "$CONFIG_FILE", "||", "exit", "1"]  # Docker reserves exit code 2
    assert argv[0] in console_scripts()
    args = build_parser().parse_args(with_env(argv[1:3]))
    assert (args.command, args.config, args.max_age_seconds) == ("health", ENV["CONFIG_FILE"], 60.0)


def test_the_config_file_and_the_default_state_directory_lie_on_declared_volumes() -> None:
    declared = [PurePosixPath(volume) for volume in volumes(IMAGE)]
    assert declared == [PurePosixPath(f"/devo-collector/{name}") for name in ("config", "certs", "state")]
    assert PurePosixPath(ENV["CONFIG_FILE"]).parent in declared
    workdir = PurePosixPath(last(IMAGE, "WORKDIR").args)
    assert workdir / Globals().persistence.config.directory_name == PurePosixPath("/devo-collector/state")


def test_the_collector_runs_as_a_numeric_non_root_user() -> None:
    user, _, group = last(IMAGE, "USER").args.partition(":")
    assert user.isdigit() and int(user) != 0
    assert group.isdigit() and int(group) != 0


def test_every_stage_starts_from_the_same_base_so_the_copied_venv_finds_its_interpreter() -> None:
    bases = [instruction.args.split()[0] for instruction in PARSED if instruction.name == "FROM"]
    assert bases == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert PARSED[0] == Instruction("ARG", "PYTHON_IMAGE=python:3.11-slim")


def test_what_the_build_copies_exists_and_is_not_kept_out_by_dockerignore() -> None:
    sent = {line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] == "!"}
    copied: list[str] = []
    for instruction in PARSED:
        words = instruction.args.split()
        if instruction.name == "COPY" and not words[0].startswith("--from="):
            copied += words[:-1]
    assert copied == ["requirements/runtime.txt", "setup.cfg", "pyproject.toml", "README.md", "devo_sqs"]
    assert [source for source in copied if not (ROOT / source).exists()] == []
    assert set(copied) <= sent


def test_python_packages_come_only_from_the_hashed_runtime_lock() -> None:
    installs = [shlex.split(run.args) for run in PARSED if run.name == "RUN" and "pip install" in run.args]
    assert [argv[argv.index("install") + 1 :] for argv in installs] == [
        ["--require-hashes", "-r", "requirements/runtime.txt"],
        ["--no-deps", "--no-build-isolation", ".", "&&", "/opt/devo-sqs/bin/devo-sqs", "--version"],
    ]
    lock = (ROOT / "requirements" / "runtime.txt").read_text()
    pinned = [line for line in lock.splitlines() if line[:1].isalnum()]
    assert pinned and all("==" in line and line.endswith(" \\") for line in pinned)  # a hash on the next line
    build_backend = {line.partition("==")[0] for line in pinned} & {"setuptools", "wheel"}
    assert build_backend == {"setuptools", "wheel"}  # so --no-build-isolation fetches nothing unpinned
