#!/usr/bin/env bash
# Set up (idempotent), then run the main job on the sample data in data/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SEED=${SEED:-0}
.venv/bin/dgp info data/bunny_noisy.ply
