"""A million-point scan on this CPU: `dgp reconstruct` with its defaults, stage by stage, against
Open3D's Screened Poisson at depths 8 and 9 on the same input.

    .venv/bin/python benchmarks/million.py                     # 1,000,000 points (tens of minutes on 2 cores)
    .venv/bin/python benchmarks/million.py --points 50000      # a smaller smoke run

The scan: ``--points`` area-uniform samples of ``--mesh`` (default the sample bunny's ground truth)
with their face normals, plus isotropic Gaussian noise of ``--noise`` (fraction of the diagonal) on
each coordinate. DGP runs as a separate process with ``--profile``: its wall time and peak resident
memory are the process's, and each stage's time and the peak memory after it are printed by the
process itself. Poisson runs in this process (2% lowest-density vertices trimmed). Both meshes are
scored against the mesh the scan was made from (`dgp.metrics.compare_meshes`: Chamfer-L1 and
Hausdorff, units of the diagonal). Writes ``benchmarks/results/million.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._util import reconstruct_measured, scratch, timed  # noqa: E402
from dgp.util import write_text  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mesh", default=str(ROOT / "data" / "bunny_gt.ply"))
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--noise", type=float, default=0.0025, help="fraction of the diagonal (%(default)s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "million.md"))
    args = ap.parse_args(argv)
    print(f"seed {args.seed}, {args.threads} threads, {args.points} points", flush=True)

    from dgp.baselines import reconstruct_baseline
    from dgp.io import read_mesh, sample_mesh, write_points
    from dgp.metrics import compare_meshes
    from dgp.pointcloud import PointCloud

    gt = read_mesh(args.mesh)
    diag = float(np.linalg.norm(gt.bounds[1] - gt.bounds[0]))
    scan = sample_mesh(gt, args.points, seed=args.seed)
    noisy = scan.points + np.random.default_rng(args.seed + 1).normal(scale=args.noise * diag, size=scan.points.shape)
    cloud = PointCloud(noisy, scan.normals)
    tmp = scratch("dgp-million-")
    write_points(tmp / "scan.ply", cloud)

    run = reconstruct_measured(tmp / "scan.ply", tmp / "dgp.ply", args.seed, args.threads, flags=("--profile",))
    print(run["stdout"], flush=True)
    if run["rc"] != 0:
        raise SystemExit(f"dgp reconstruct failed with status {run['rc']}")
    rows = {"DGP (defaults)": (compare_meshes(read_mesh(tmp / "dgp.ply"), gt), run["seconds"], run["peak_mb"])}
    for depth in (8, 9):
        mesh, secs = timed(reconstruct_baseline, cloud, "poisson", depth=depth, trim=0.02)
        rows[f"Screened Poisson depth {depth}"] = (compare_meshes(mesh, gt), secs, None)
        print(f"Poisson d{depth}: {secs:.0f} s", flush=True)

    d, p9 = rows["DGP (defaults)"][0], rows["Screened Poisson depth 9"][0]
    ratios = {k: d[k] / p9[k] for k in ("chamfer_l1", "hausdorff")}
    profile = [line for line in run["stdout"].splitlines() if line.startswith("  ") or line.startswith("stage")]
    fitted = [line for line in run["stdout"].splitlines() if line.startswith("fitted")]
    cmd = f"python benchmarks/million.py --points {args.points} --noise {args.noise} --threads {args.threads}"
    lines = [
        f"# A {args.points:,}-point scan on the CPU",
        "",
        f"Made by `{cmd} --seed {args.seed}`: `{Path(args.mesh).name}` sampled by area with its face normals, "
        f"Gaussian noise of {args.noise:g} of the diagonal on each coordinate; distances to that mesh in units "
        f"of its diagonal (100,000 area samples each way). DGP: `dgp reconstruct --profile` with its defaults, "
        f"a separate process on {args.threads} threads (wall time and peak resident memory of the process).",
        "",
        "| method | Chamfer-L1 | Hausdorff | seconds | peak MB |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, (m, s, mb) in rows.items():
        lines.append(
            f"| {name} | {m['chamfer_l1']:.3e} | {m['hausdorff']:.3e} | {s:.0f} | {'' if mb is None else f'{mb:.0f}'} |"
        )
    lines += [
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        f"| completes, peak memory < 8 GB | {run['peak_mb']:.0f} MB | {'yes' if run['peak_mb'] < 8192 else 'no'} |",
        f"| Chamfer-L1 ≤ Poisson d9 | {ratios['chamfer_l1']:.3f} × | {'yes' if ratios['chamfer_l1'] <= 1 else 'no'} |",
        f"| Hausdorff ≤ Poisson d9 | {ratios['hausdorff']:.3f} × | {'yes' if ratios['hausdorff'] <= 1 else 'no'} |",
        "",
        "DGP's own report (`--profile`: seconds per stage, the process's peak memory after it):",
        "",
        "```",
        *fitted,
        *profile,
        "```",
    ]
    text = "\n".join(lines) + "\n"
    write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
