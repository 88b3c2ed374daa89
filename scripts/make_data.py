"""Make the sample inputs in data/ from ../shared/data/meshes (see data/README.md).

python scripts/make_data.py [--meshes ../shared/data/meshes] [--out data] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dgp.io import read_mesh, sample_mesh, write_mesh, write_points
from dgp.pointcloud import PointCloud


def noisy_scan(mesh, n: int, noise: float, seed: int) -> PointCloud:
    """``n`` area-uniform samples of ``mesh`` with their face normals, plus isotropic Gaussian
    noise of standard deviation ``noise`` x bounding-box diagonal on each coordinate."""
    clean = sample_mesh(mesh, n, seed=seed)
    diag = float(np.linalg.norm(mesh.bounds[1] - mesh.bounds[0]))
    rng = np.random.default_rng(seed + 1)
    return PointCloud(clean.points + rng.normal(scale=noise * diag, size=clean.points.shape), clean.normals)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parent.parent
    ap.add_argument("--meshes", type=Path, default=here.parent / "shared" / "data" / "meshes")
    ap.add_argument("--out", type=Path, default=here / "data")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"seed {args.seed}")
    for name, src in (("bunny", "stanford-bunny.obj"), ("fandisk", "fandisk.obj")):
        mesh = read_mesh(args.meshes / src)
        write_mesh(args.out / f"{name}_gt.ply", mesh)
        scan = noisy_scan(mesh, 20000, 0.005, seed=args.seed)
        write_points(args.out / f"{name}_noisy.ply", scan)
        print(f"{name}: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces -> {name}_gt.ply, {name}_noisy.ply")


if __name__ == "__main__":
    main()
