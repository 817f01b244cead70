"""The dependency locks in requirements/: every package the image and the test runs install, pinned with hashes,
so two installs a month apart get the same code. setup.cfg keeps its ranges for those who install the package;
this module refreshes the locks from them (uv) and tells when a lock no longer satisfies them (a stale lock).

    .venv/bin/python scripts/locks.py check                    # run by scripts/test
    .venv/bin/python scripts/locks.py refresh [--upgrade]      # run by scripts/lock
"""

from __future__ import annotations

import argparse
import configparser
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK_DIR = ROOT / "requirements"
PYTHON_FLOOR = "3.11"  # setup.cfg's python_requires; the locks hold for every Python from here on
REFRESH_COMMAND = "scripts/lock"


@dataclass(frozen=True)
class Lock:
    name: str  # requirements/<name>.txt
    extras: tuple[str, ...]  # setup.cfg extras it pins on top of install_requires and the build backend
    purpose: str


# The first lock is resolved freely; the others are held to its versions, so one .venv can take any of them.
LOCKS = (
    Lock("test", ("test", "demo"), "scripts/test and scripts/lock"),
    Lock("demo", ("demo",), "scripts/demo"),
    Lock("runtime", (), "the image (Dockerfile)"),
)


def lock_path(lock: Lock) -> Path:
    return LOCK_DIR / f"{lock.name}.txt"


# -- what the package asks for --------------------------------------------------------------------------------


def declared(setup_cfg: str, pyproject: str) -> dict[str, list[Requirement]]:
    """Requirements by source: "install_requires", "build-system" and each extra's name."""
    setup = configparser.ConfigParser()
    setup.read_string(setup_cfg)
    sources = {"install_requires": _lines(setup["options"]["install_requires"])}
    sources.update({extra: _lines(value) for extra, value in setup["options.extras_require"].items()})
    sources["build-system"] = list(tomllib.loads(pyproject)["build-system"]["requires"])
    return {source: [Requirement(line) for line in lines] for source, lines in sources.items()}


def wanted(lock: Lock, requirements: Mapping[str, list[Requirement]]) -> list[tuple[str, Requirement]]:
    """(source, requirement) pairs the lock must satisfy."""
    sources = ("install_requires", "build-system", *lock.extras)
    return [(source, requirement) for source in sources for requirement in requirements[source]]


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


# -- what a lock pins -----------------------------------------------------------------------------------------


def pins(lock_text: str) -> dict[str, set[Version]]:
    """Pinned versions by canonical name (a universal lock may pin two versions under different markers)."""
    pinned: dict[str, set[Version]] = {}
    for line in lock_text.splitlines():
        if not line or line[0] in " #-":
            continue
        requirement = Requirement(line.removesuffix("\\").strip())
        (specifier,) = requirement.specifier
        if specifier.operator != "==":
            raise ValueError(f"not a pin: {line!r}")
        pinned.setdefault(canonicalize_name(requirement.name), set()).add(Version(specifier.version))
    return pinned


# -- the check ------------------------------------------------------------------------------------------------


def problems(lock_name: str, pinned: Mapping[str, set[Version]], needs: Iterable[tuple[str, Requirement]]) -> list[str]:
    """What makes a lock stale: a requirement it does not pin, or a pin outside the requirement's range."""
    found: list[str] = []
    for source, requirement in needs:
        versions = pinned.get(canonicalize_name(requirement.name))
        where = f"{_source_file(source)} ({source}) asks for {requirement}"
        if not versions:
            found.append(f"{lock_name}: {where}, which it does not pin")
            continue
        outside = sorted(v for v in versions if not requirement.specifier.contains(v, prereleases=True))
        found += [f"{lock_name}: {where}, but it pins {requirement.name}=={version}" for version in outside]
    return found


def disagreements(locks: Mapping[str, Mapping[str, set[Version]]]) -> list[str]:
    """Packages two locks pin differently: they share one .venv, so they must agree."""
    first_name, *others = locks
    first = locks[first_name]
    found: list[str] = []
    for name in others:
        for package, versions in sorted(locks[name].items()):
            if package in first and versions != first[package]:
                found.append(f"{name} pins {package} {_versions(versions)}, {first_name} {_versions(first[package])}")
    return found


def check() -> int:
    requirements = declared((ROOT / "setup.cfg").read_text(), (ROOT / "pyproject.toml").read_text())
    pinned: dict[str, dict[str, set[Version]]] = {}
    found: list[str] = []
    for lock in LOCKS:
        path = lock_path(lock)
        if not path.exists():
            found.append(f"{path.relative_to(ROOT)} is missing")
            continue
        pinned[str(path.relative_to(ROOT))] = locked = pins(path.read_text())
        found += problems(str(path.relative_to(ROOT)), locked, wanted(lock, requirements))
    if len(pinned) == len(LOCKS):
        found += disagreements(pinned)
    if not found:
        return 0
    print("The dependency locks no longer match setup.cfg / pyproject.toml:", file=sys.stderr)
    for problem in found:
        print(f"  - {problem}", file=sys.stderr)
    print(f"Refresh them with `{REFRESH_COMMAND}` and commit requirements/.", file=sys.stderr)
    return 1


def _source_file(source: str) -> str:
    return "pyproject.toml" if source == "build-system" else "setup.cfg"


def _versions(versions: set[Version]) -> str:
    return "/".join(str(version) for version in sorted(versions))


# -- the refresh ----------------------------------------------------------------------------------------------


def compile_command(lock: Lock, *, constraint: Path | None, uv_args: list[str]) -> list[str]:
    """uv pip compile for one lock; the build backend comes in on stdin (from pyproject.toml)."""
    command = [str(Path(sys.executable).parent / "uv"), "pip", "compile", "setup.cfg", "-"]
    command += [f"--extra={extra}" for extra in lock.extras]
    command += ["--universal", f"--python-version={PYTHON_FLOOR}", "--generate-hashes"]
    command += [f"--custom-compile-command={REFRESH_COMMAND}", "--quiet", f"--output-file={lock_path(lock)}"]
    if constraint is not None:
        command.append(f"--constraint={constraint}")
    return command + uv_args


def refresh(uv_args: list[str]) -> int:
    """Refresh every lock: current pins are kept where they still fit, unless uv_args say to upgrade."""
    build_system = "\n".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"])
    LOCK_DIR.mkdir(exist_ok=True)
    first = LOCKS[0]
    for lock in LOCKS:
        constraint = None if lock is first else lock_path(first).relative_to(ROOT)
        args = uv_args if lock is first else []
        print(f"{lock_path(lock).relative_to(ROOT)}: for {lock.purpose}", file=sys.stderr)
        command = compile_command(lock, constraint=constraint, uv_args=args)
        subprocess.run(command, cwd=ROOT, input=build_system, text=True, check=True)
    return check()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("check", "refresh"))
    parser.add_argument("uv_args", nargs=argparse.REMAINDER, help="passed to uv pip compile (e.g. --upgrade)")
    args = parser.parse_args()
    return check() if args.action == "check" else refresh(args.uv_args)


if __name__ == "__main__":
    sys.exit(main())
