"""DGP settings against the defaults on the sample bunny: one setting changed at a time.

    .venv/bin/python benchmarks/settings.py [--threads 2] [--seed 0] [SETTING_JSON ...]

Each argument is a JSON object of `dgp.ReconstructionConfig` fields (``{}`` = the defaults);
without arguments a standard list runs. Every variant reconstructs `data/bunny_noisy.ply` in
this process and is scored against `data/bunny_gt.ply` (point to surface, units of its
diagonal). Writes benchmarks/results/settings.md. The fits and the mesh (Open3D's Poisson on one
thread) are deterministic for a seed; only the seconds move between identical runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dgp.util import write_text  # noqa: E402

# the defaults, then each of their choices undone one at a time (and the other exact matcher)
STANDARD = [
    "{}",
    '{"normal_weight": 0}',
    '{"local_steps": 300, "consistency_steps": 100}',
    '{"min_density": 0}',
    '{"trim": 3.0}',
    '{"pockets": 0}',
    '{"block": 0}',
    '{"matching": "emd"}',
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("settings", nargs="*", default=STANDARD)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "settings.md"))
    args = ap.parse_args(argv)

    import torch

    from dgp.io import read_mesh, read_points
    from dgp.metrics import compare_meshes
    from dgp.reconstruction import ReconstructionConfig, reconstruct

    torch.set_num_threads(args.threads)
    print(f"seed {args.seed}, {args.threads} threads")
    cloud = read_points(ROOT / "data" / "bunny_noisy.ply")
    gt = read_mesh(ROOT / "data" / "bunny_gt.ply")
    rows = []
    for spec in args.settings:
        kw = json.loads(spec)
        if "widths" in kw:
            kw["widths"] = tuple(kw["widths"])
        cfg = ReconstructionConfig(**{"seed": args.seed, "progress": False, **kw})
        t = time.perf_counter()
        rec = reconstruct(cloud, cfg)
        sec = time.perf_counter() - t
        m = compare_meshes(rec.mesh(), gt)
        rows.append((spec, len(rec.patches), sec, m))
        print(
            f"{spec}: {sec:.0f} s, {len(rec.patches)} patches, Chamfer-L1 {m['chamfer_l1']:.4e}, "
            f"Hausdorff {m['hausdorff']:.4e}",
            flush=True,
        )
    lines = [
        "# DGP settings on the sample bunny",
        "",
        f"Made by `.venv/bin/python benchmarks/settings.py --threads {args.threads} --seed {args.seed}` "
        "(one setting changed from the defaults per row; fit seconds in this process; distances point to "
        "surface in units of the ground truth's diagonal).",
        "",
        "| setting | patches | fit s | Chamfer-L1 | Hausdorff | normal consistency |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec, n, sec, m in rows:
        lines.append(
            f"| `{spec}` | {n} | {sec:.0f} | {m['chamfer_l1']:.4e} | {m['hausdorff']:.4e} | "
            f"{m['normal_consistency']:.4f} |"
        )
    write_text(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
