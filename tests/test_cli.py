"""The console scripts start, list their sub-commands and fail cleanly."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("prog", ["dgp", "image-priors"])
def test_entry_point_help(prog):
    exe = shutil.which(prog, path=str(BIN)) or shutil.which(prog)
    assert exe, f"console script {prog} is not installed"
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_dgp_info_json_on_sample():
    proc = subprocess.run(
        [sys.executable, "-m", "dgp.cli", "info", str(ROOT / "data" / "bunny_noisy.ply"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(proc.stdout)
    assert info["points"] == 20000 and info["has_normals"]
    # the sample was made with noise 0.5% of the diagonal; the estimate must be near it
    assert 0.003 < info["noise_rms_of_diagonal"] < 0.006


def test_bad_flag_exits_2():
    proc = subprocess.run([sys.executable, "-m", "dgp.cli", "info"], capture_output=True, text=True)
    assert proc.returncode == 2
