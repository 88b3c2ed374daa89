"""Make the sample inputs in data/ from ../shared/data/meshes (see data/README.md).

python scripts/make_data.py [--meshes ../shared/data/meshes] [--out data] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dgp.io import noisy_scan, read_mesh, write_mesh, write_points


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
