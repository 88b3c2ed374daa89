"""Tests of `dgp.cli`."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dgp
from dgp.io import read_mesh, read_points, write_points

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "dgp.cli", *map(str, args)], capture_output=True, text=True)


def test_cli_reconstruct_export_evaluate(tmp_path, sphere_points):
    rng = np.random.default_rng(4)
    pts, nrm = sphere_points(800, rng, noise=0.01)
    write_points(tmp_path / "sphere.ply", dgp.PointCloud(pts, nrm))
    # two stray returns far off the sphere, which --outliers drops before the fit
    pts, nrm = np.vstack([pts, [[8.0, 8.0, 8.0], [-7.0, 0.0, 7.0]]]), np.vstack([nrm, [[0, 0, 1.0], [1.0, 0, 0]]])
    write_points(tmp_path / "in.ply", dgp.PointCloud(pts, nrm))
    fast = [
        "--radius",
        "0.1",
        "--min-points",
        "10",
        "--widths",
        "2,64,64,3",
        "--local-steps",
        "150",
        "--consistency-steps",
        "10",
        "--match-every",
        "25",
        "--lr",
        "1e-2",
        "--density",
        "8",
        "--poisson-depth",
        "6",
        "--device",
        "cpu",
        "--seed",
        "3",
        "-q",
    ]
    out = tmp_path / "out.ply"
    proc = _cli(
        "reconstruct",
        tmp_path / "in.ply",
        "-o",
        out,
        "--state",
        tmp_path / "s.pt",
        "--dense",
        tmp_path / "d.xyz",
        "--charts",
        tmp_path / "c.ply",
        "--profile",
        "--outliers",
        "4.5",
        *fast,
    )
    assert proc.returncode == 0, proc.stderr
    assert "seed 3" in proc.stdout and "dropped 2 of 802 input points as outliers" in proc.stdout
    lines = proc.stdout[proc.stdout.index("stage ") :].splitlines()[1:]
    profile = [line for line in lines if not line.startswith("    ")]
    assert [line.split()[0] for line in profile] == ["outliers", "noise", "radius", "patches", "local"] + [
        "consistency",
        "dense",
        "mesh",
        "write",
    ]
    assert all(float(line.split()[1]) >= 0 and float(line.split()[2]) > 10 for line in profile)  # seconds, MB
    # the local phase's matching time, a part of it
    (matching,) = [line.split() for line in lines if line.startswith("    matching")]
    (local,) = [float(line.split()[1]) for line in profile if line.split()[0] == "local"]
    assert 0 < float(matching[1]) <= local and "--matching" in matching
    assert len(read_mesh(out).faces) > 100 and len(read_points(tmp_path / "d.xyz")) > 100
    assert len(read_mesh(tmp_path / "c.ply").faces) > 100
    proc = _cli("export", tmp_path / "s.pt", "-o", tmp_path / "again.obj", "--density", "6")
    assert proc.returncode == 0, proc.stderr
    assert len(read_mesh(tmp_path / "again.obj").faces) > 100
    import json

    import trimesh

    from dgp.io import write_mesh

    write_mesh(tmp_path / "gt.off", trimesh.creation.icosphere(subdivisions=4))
    proc = _cli("evaluate", out, tmp_path / "gt.off", "--json", "--samples", "20000")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["chamfer_l1"] < 0.01 and res["normal_consistency"] > 0.9
    assert res["distances"] == "point to surface"
    proc = _cli("evaluate", out, tmp_path / "gt.off", "--json", "--samples", "20000", "--point-to-point")
    p2p = json.loads(proc.stdout)
    assert p2p["distances"] == "point to point" and p2p["chamfer_l1"] > res["chamfer_l1"]  # the sampling floor
    assert res["chamfer_l1_units"] == pytest.approx(res["chamfer_l1"] * res["diagonal"])
    # against the input scan (no ground truth): the SRB-style distances, in the scan's units
    proc = _cli("evaluate", out, tmp_path / "sphere.ply", "--samples", "20000")
    assert proc.returncode == 0, proc.stderr
    for key in ("scan_to_mesh_mean", "scan_to_mesh_max", "mesh_to_scan_mean", "mesh_to_scan_p99", "boundary_edges"):
        assert key in proc.stdout
    scan = json.loads(_cli("evaluate", out, tmp_path / "sphere.ply", "--json", "--samples", "20000").stdout)["scan"]
    assert 0 < scan["scan_to_mesh_mean"] < 0.05 and scan["scan_to_mesh_mean"] <= scan["scan_to_mesh_max"]


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--radius", "-1"], "radius"),
        (["--widths", "2,a,3"], "widths"),
        (["--widths", "3,16,3"], "widths"),
        (["--matching", "hungarian"], "invalid choice"),
        (["--local-steps", "x"], "invalid int"),
        (["--device", "tpu"], "device"),
        (["--min-density", "1.5"], "min-density"),
        (["--normal-fraction", "0"], "normal-fraction"),
        (["--block", "-1"], "block"),
        (["--normal-weight", "-1"], "normal-weight"),
        (["--outliers", "-1"], "outliers"),
    ],
)
def test_cli_bad_flags(tmp_path, flags, fragment, sphere_points):
    rng = np.random.default_rng(5)
    pts, nrm = sphere_points(100, rng)
    write_points(tmp_path / "in.ply", dgp.PointCloud(pts, nrm))
    proc = _cli("reconstruct", tmp_path / "in.ply", "-o", tmp_path / "o.ply", *flags)
    assert proc.returncode == 2
    assert fragment in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.ply").exists()


def test_cli_bad_state(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a state")
    proc = _cli("export", tmp_path / "bad.pt", "-o", tmp_path / "o.ply")
    assert proc.returncode == 2 and "bad.pt" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("method", ["poisson", "bpa"])
def test_baselines_on_sphere(tmp_path, method, sphere_points):
    rng = np.random.default_rng(6)
    pts, nrm = sphere_points(3000, rng, noise=0.002)
    write_points(tmp_path / "in.ply", dgp.PointCloud(pts, nrm))
    proc = _cli(
        "reconstruct", tmp_path / "in.ply", "-o", tmp_path / "o.ply", "--method", method, "--poisson-depth", "6"
    )
    assert proc.returncode == 0, proc.stderr
    mesh = read_mesh(tmp_path / "o.ply")
    r = np.linalg.norm(mesh.vertices, axis=1)
    assert len(mesh.faces) > 500 and np.abs(r - 1).mean() < 0.02


def test_poisson_trim_flag(tmp_path, sphere_points):
    rng = np.random.default_rng(6)
    pts, nrm = sphere_points(3000, rng, noise=0.002)
    write_points(tmp_path / "in.ply", dgp.PointCloud(pts, nrm))
    meshes = {}
    for trim in ("0", "0.02"):
        proc = _cli(
            "reconstruct",
            tmp_path / "in.ply",
            "-o",
            tmp_path / f"o{trim}.ply",
            "--method",
            "poisson",
            "--poisson-depth",
            "6",
            "--poisson-trim",
            trim,
        )
        assert proc.returncode == 0, proc.stderr
        meshes[trim] = read_mesh(tmp_path / f"o{trim}.ply")
    assert meshes["0"].is_watertight  # untrimmed Screened Poisson closes the sphere
    assert len(meshes["0.02"].vertices) < len(meshes["0"].vertices)
    proc = _cli(
        "reconstruct", tmp_path / "in.ply", "-o", tmp_path / "bad.ply", "--method", "poisson", "--poisson-trim", "1.5"
    )
    assert proc.returncode == 2 and "--poisson-trim" in proc.stderr and not (tmp_path / "bad.ply").exists()


@pytest.mark.parametrize("prog", ["dgp", "image-priors"])
def test_entry_point_help(prog):
    exe = shutil.which(prog, path=str(BIN)) or shutil.which(prog)
    assert exe, f"console script {prog} is not installed"
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage" in proc.stdout
    assert "Traceback" not in proc.stderr


def _subparsers(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for deeper in _subparsers(sub):
                    yield (f"{name} {deeper[0]}", deeper[1])


@pytest.mark.parametrize("module", ["dgp.cli", "image_priors.cli"])
def test_every_command_help_renders(module):
    """``COMMAND --help`` formats for every command: argparse expands %-formats in help texts, and a
    setting whose text says "70% of the steps" once made ``dgp reconstruct --help`` raise."""
    import importlib

    names = []
    for name, sub in _subparsers(importlib.import_module(module).build_parser()):
        text = sub.format_help()
        assert "usage" in text, name
        names.append(name)
    assert len(names) >= 4
    assert module != "dgp.cli" or "reconstruct" in names


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
    assert 0.01 <= info["auto_radius_of_diagonal"] <= 0.04 and info["spacing"] > 0
    # a noisy sample: the noisy budget, and the mesh fit to the charts, not to the noisy points
    assert info["auto_lr_schedule"] == "constant" and info["auto_mesh_from"] == "charts"
    # a synthetic scan without stray points: the filter finds (almost) none
    assert 0 <= info["stray_points"] <= 20


def test_bad_flag_exits_2():
    proc = subprocess.run([sys.executable, "-m", "dgp.cli", "info"], capture_output=True, text=True)
    assert proc.returncode == 2
