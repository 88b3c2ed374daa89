"""Tests of `dgp.experiments`."""

import csv
import subprocess
import sys

import numpy as np


def test_surface_early_stopping_cli(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dgp.cli", "experiment", "surface-early-stopping", "-o", str(tmp_path), "--quick"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "surface-early-stopping.csv") as fh:
        rows = list(csv.DictReader(fh))
    clean = np.array([float(r["mean_distance_to_clean_surface"]) for r in rows])
    resid = np.array([float(r["rms_distance_to_matched_noisy_points"]) for r in rows])
    best = int(np.argmin(clean))
    assert 0 < best < len(clean) - 1 and clean[-1] > clean[best] * 1.2  # the shape first, then the noise
    assert resid[-1] < resid[best]  # while the residual to the noisy points keeps falling
    assert (tmp_path / "surface-early-stopping.png").exists()
