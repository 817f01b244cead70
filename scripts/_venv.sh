# Sourced by scripts/demo, scripts/test and scripts/lock: make .venv (python3 >= 3.11), install the dependencies
# pinned in requirements/$1.txt (hashes checked) and the package itself (editable, without dependencies).
# Reinstalls only when setup.cfg, pyproject.toml or that lock changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCK_NAME="${1:-runtime}"
LOCK="$ROOT/requirements/$LOCK_NAME.txt"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "devo-sqs needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
STAMP="$VENV/.installed-$LOCK_NAME"
if [ ! -f "$STAMP" ] || [ "$ROOT/setup.cfg" -nt "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ] \
   || [ "$LOCK" -nt "$STAMP" ]; then
  PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
  "${PIP[@]}" install --quiet --require-hashes -r "$LOCK"  # pip also checks the lock holds every dependency
  # The build backend (setuptools, wheel) is in the lock too: no unpinned download to build the package.
  "${PIP[@]}" install --quiet --no-deps --no-build-isolation -e "$ROOT"
  touch "$STAMP"
fi
