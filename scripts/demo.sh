#!/usr/bin/env bash
# Set up (idempotent), then run the main job on the sample data: reconstruct the noisy bunny
# scan in data/ with the default settings, score it against the ground truth, and render a
# picture of the input points beside the mesh and the charts. Outputs go to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SEED=${SEED:-0}
mkdir -p out
.venv/bin/dgp reconstruct data/bunny_noisy.ply -o out/bunny_mesh.ply --state out/bunny_state.pt \
    --charts out/bunny_charts.ply --seed "$SEED"
.venv/bin/dgp evaluate out/bunny_mesh.ply data/bunny_gt.ply
# Open3D's renderer prints its start-up lines on stdout; keep the terminal readable.
.venv/bin/dgp view data/bunny_noisy.ply out/bunny_mesh.ply out/bunny_charts.ply \
    --screenshot out/bunny.png --size 1500x500 | grep -E '^wrote' || { echo "rendering failed" >&2; exit 1; }
echo "open it interactively with: .venv/bin/dgp view data/bunny_noisy.ply out/bunny_mesh.ply out/bunny_charts.ply"
