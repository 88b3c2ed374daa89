#!/usr/bin/env bash
# Set up everything this project needs, idempotently:
#   1. the system libraries Open3D needs (apt-get when root, otherwise an exact command to run),
#   2. a virtual environment in ./.venv,
#   3. torch 2.13.0 first (a CPU build; an unpinned torch pulls a multi-GB CUDA build),
#   4. this package with its test extras (editable).
# Re-running is cheap: step 4 is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
# Open3D's shared library links libusb, libGL and libEGL (minimal Debian images lack the last two);
# its window (dgp view) needs the Vulkan loader and a driver (Mesa's software one where there is no
# GPU). Pictures (--screenshot) are ray cast on the CPU and need neither.
SYS_PKGS=(libusb-1.0-0 libgl1 libegl1 libvulkan1 mesa-vulkan-drivers)
# Packages only some callers need (scripts/test.sh: a virtual X server and a screen grabber for
# the window tests); when they cannot be installed, the tests that need them are skipped.
read -r -a EXTRA <<< "${EXTRA_SYS_PKGS:-}"

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${SYS_PKGS[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
fi
extra_missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in ${EXTRA[@]+"${EXTRA[@]}"}; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            extra_missing+=("$p")
        fi
    done
fi
can_apt=no
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then can_apt=yes; fi
if [ ${#extra_missing[@]} -gt 0 ] && [ $can_apt = no ]; then
    echo "[setup] optional system packages missing (the tests that need them will be skipped): ${extra_missing[*]}" >&2
    extra_missing=()
fi
missing+=(${extra_missing[@]+"${extra_missing[@]}"})
if [ ${#missing[@]} -gt 0 ]; then
    if [ $can_apt = yes ]; then
        echo "[setup] installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "[setup] missing system packages needed by Open3D: ${missing[*]}" >&2
        echo "[setup] run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "[setup] Python >= 3.10 is required (found: $("$PY" --version 2>&1))" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment in $VENV"
    "$PY" -m venv "$VENV"
fi

# pip's output goes to a log that is shown only when pip fails.
pipq() {
    local log; log="$(mktemp)"
    if ! "$VENV/bin/python" -m pip install -q "$@" >"$log" 2>&1; then
        grep -v '^WARNING: Location' "$log" >&2; rm -f "$log"
        echo "[setup] pip install $* failed" >&2; exit 1
    fi
    rm -f "$log"
}

if ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
    echo "[setup] installing torch 2.13.0 (CPU build)"
    pipq torch==2.13.0
fi

stamp="$VENV/.dgp-installed"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "[setup] installing the package and its test extras"
    pipq -e ".[test]"
    "$VENV/bin/python" -c 'import dgp, image_priors, viewer, torch, ot, trimesh, open3d, ray' \
        || { echo "[setup] install check failed" >&2; exit 1; }
    echo "$want" > "$stamp"
fi
