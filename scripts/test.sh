#!/usr/bin/env bash
# Set up (idempotent) and run the test suite. `--slow` also runs the long fits.
# Extra arguments go to pytest. Exits non-zero on any failure, including "no tests collected".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
marker=(-m "not slow")
args=()
for a in "$@"; do
    if [ "$a" = "--slow" ]; then marker=(-m "slow or not slow"); else args+=("$a"); fi
done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec .venv/bin/python -m pytest -q "${marker[@]}" ${args[@]+"${args[@]}"}
