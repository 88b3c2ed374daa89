#!/usr/bin/env bash
# Set up (idempotent) and run the test suite. `--slow` also runs the long fits.
# Extra arguments go to pytest. Exits non-zero on any failure, including "no tests collected".
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA_SYS_PKGS="xvfb imagemagick" bash scripts/setup.sh
marker=(-m "not slow")
args=()
for a in "$@"; do
    if [ "$a" = "--slow" ]; then marker=(-m "slow or not slow"); else args+=("$a"); fi
done
# Lint and format check first (ruff, configured in pyproject.toml): CI fails on either.
.venv/bin/ruff check --quiet . || { echo "[test] ruff check failed (fix, or run: .venv/bin/ruff check --fix .)" >&2; exit 1; }
.venv/bin/ruff format --check --quiet . || { echo "[test] formatting differs (run: .venv/bin/ruff format .)" >&2; exit 1; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec .venv/bin/python -m pytest -q "${marker[@]}" ${args[@]+"${args[@]}"}
