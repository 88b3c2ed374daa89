"""DGP against Screened Poisson (depth 8 and 9) and Ball Pivoting on noisy scans of every mesh in
../shared/data/meshes, at several noise levels.

    .venv/bin/python benchmarks/surface.py [--threads 2] [--seed 0] [--quick]

For each shape and each noise level (fraction of the bounding-box diagonal) a scan of 20,000
area-uniform samples with their face normals is made with a fixed seed; each method
reconstructs it; Chamfer-L1, Hausdorff, normal consistency and F-score at 0.5% are measured
against the mesh (units of its diagonal), with wall time and peak memory (separate processes).
Writes benchmarks/results/surface.md, surface.csv, surface_chamfer.png (Chamfer against noise
per method) and surface_<shape>.png (input, Poisson depth 8, DGP, DGP error map).
``--quick``: one shape at 0.5% noise (with its picture), to check the pipeline in a few minutes.
Pictures are made at 0.5% noise. Writes to ``--out`` (default benchmarks/results/, or
benchmarks/results/quick/ with ``--quick``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._util import reconstruct_measured, scratch  # noqa: E402
from dgp.util import write_text  # noqa: E402

METHODS = {
    "DGP": ["--method", "dgp"],
    "Poisson d8": ["--method", "poisson", "--poisson-depth", "8"],
    "Poisson d8 untrimmed": ["--method", "poisson", "--poisson-depth", "8", "--poisson-trim", "0"],
    "Poisson d9": ["--method", "poisson", "--poisson-depth", "9"],
    "Ball Pivoting": ["--method", "bpa"],
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meshes", default=str(ROOT.parent / "shared" / "data" / "meshes"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="one shape (pcu_bunny_lowres) at 0.5%% noise: a smoke run")
    ap.add_argument("--shapes", default=None, help="comma-separated mesh names (file stems) to run; default all")
    ap.add_argument("--noises", default=None, help="comma-separated noise levels, fractions of the diagonal")
    ap.add_argument("--no-pictures", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    print(f"seed {args.seed}, {args.threads} threads")

    from dgp.io import noisy_scan, read_mesh, write_points
    from dgp.metrics import compare_meshes

    noises = (0.005,) if args.quick else (0.0, 0.0025, 0.005, 0.01)
    if args.noises:
        noises = tuple(float(x) for x in args.noises.split(","))
    wanted = {"pcu_bunny_lowres"} if args.quick else None
    if args.shapes:
        wanted = set(args.shapes.split(","))
    out = Path(args.out or ROOT / "benchmarks" / "results" / ("quick" if args.quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    tmp = scratch("dgp-surface-")  # scans and meshes, hundreds of MB
    rows = []
    shapes = sorted(Path(args.meshes).glob("*.obj")) + sorted(Path(args.meshes).glob("*.ply"))
    shapes = [m for m in shapes if wanted is None or m.stem in wanted]
    if not shapes:
        raise SystemExit(f"no meshes to run in {args.meshes} (asked for {sorted(wanted or [])})")
    for mesh_path in shapes:
        gt = read_mesh(mesh_path)
        for noise in noises:
            scan = noisy_scan(gt, 20000, noise, seed=args.seed)
            inp = tmp / f"{mesh_path.stem}_{noise}.ply"
            write_points(inp, scan)
            for name, flags in METHODS.items():
                outp = tmp / f"{mesh_path.stem}_{noise}_{name.replace(' ', '_')}.ply"
                r = reconstruct_measured(inp, outp, args.seed, args.threads, flags)
                if r["rc"] != 0:
                    rows.append([mesh_path.stem, noise, name, *([float("nan")] * 4), r["seconds"], r["peak_mb"]])
                    continue
                m = compare_meshes(read_mesh(outp), gt)
                rows.append(
                    [
                        mesh_path.stem,
                        noise,
                        name,
                        m["chamfer_l1"],
                        m["hausdorff"],
                        m["normal_consistency"],
                        m["fscore"],
                        r["seconds"],
                        r["peak_mb"],
                    ]
                )
                print(rows[-1], flush=True)
            if noise == 0.005 and not args.no_pictures:
                _pictures(mesh_path.stem, noise, inp, tmp, out, gt)
    header = [
        "shape",
        "noise",
        "method",
        "chamfer_l1",
        "hausdorff",
        "normal_consistency",
        "fscore",
        "seconds",
        "peak_mb",
    ]
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows([header] + rows)
    write_text(out / "surface.csv", buf.getvalue())
    minutes = (time.time() - t_start) / 60
    cmd = " ".join(
        [".venv/bin/python benchmarks/surface.py", f"--threads {args.threads}", f"--seed {args.seed}"]
        + (["--quick"] if args.quick else [])
        + ([f"--shapes {args.shapes}"] if args.shapes else [])
        + ([f"--noises {args.noises}"] if args.noises else [])
    )
    lines = [
        "# Surface reconstruction benchmark",
        "",
        f"Made by `{cmd}` in {minutes:.1f} minutes (whole run, pictures included). Distances in units of "
        "each mesh's diagonal; ratios are DGP / Poisson d8.",
        "",
        "| shape | noise | method | Chamfer-L1 | Hausdorff | normal cons. | F@0.5% | s | peak MB | CL1 / P8 | H / P8 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ref = next(x for x in rows if x[0] == r[0] and x[1] == r[1] and x[2] == "Poisson d8")
        lines.append(
            f"| {r[0]} | {100 * r[1]:.2f}% | {r[2]} | {r[3]:.3e} | {r[4]:.3e} | {r[5]:.4f} | {r[6]:.4f} | "
            f"{r[7]:.0f} | {r[8]:.0f} | {r[3] / ref[3]:.3f} | {r[4] / ref[4]:.3f} |"
        )
    for base in ("Poisson d8", "Poisson d8 untrimmed"):
        checks = [
            (r[0], r[1], r[3] / ref[3], r[4] / ref[4])
            for r in rows
            if r[2] == "DGP" and r[1] in (0.005, 0.01)
            for ref in [next(x for x in rows if x[0] == r[0] and x[1] == r[1] and x[2] == base)]
        ]
        if checks:
            ok = [c for c in checks if c[2] < 1 and c[3] < 1]
            what = (
                "Target (DGP below Poisson d8 in Chamfer-L1 and Hausdorff at 0.5% and 1% noise)"
                if base == "Poisson d8"
                else "Against Poisson d8 without its density trim (watertight; the better choice on closed shapes)"
            )
            lines += [
                "",
                f"{what}: met in {len(ok)} of {len(checks)} cases; not met: "
                + (
                    ", ".join(
                        f"{s} at {100 * n:g}% (CL1 {a:.2f}×, H {b:.2f}×)"
                        for s, n, a, b in checks
                        if not (a < 1 and b < 1)
                    )
                    or "none"
                )
                + ".",
            ]
    write_text(out / "surface.md", "\n".join(lines) + "\n")
    _plot(rows, noises, out / "surface_chamfer.png")
    print("\n".join(lines))


def _plot(rows, noises, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dgp.util import save_png

    shapes = sorted({r[0] for r in rows})
    fig, axes = plt.subplots(1, len(shapes), figsize=(4.5 * len(shapes), 3.6), squeeze=False)
    for ax, s in zip(axes[0], shapes):
        for name in METHODS:
            pts = [(r[1] * 100, r[3]) for r in rows if r[0] == s and r[2] == name]
            ax.plot(*zip(*pts), "o-", label=name)
        ax.set_title(s)
        ax.set_xlabel("noise (% of diagonal)")
        ax.set_ylabel("Chamfer-L1 / diagonal")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(path, fig)


def _pictures(stem, noise, inp, tmp, out, gt_mesh):
    """One row per shape: input, Poisson d8, DGP, and both meshes coloured by distance to the truth
    on one colour scale (1% of the diagonal)."""
    from dgp.io import read_mesh, read_points
    from dgp.util import save_png
    from viewer.rendering import compose, distance_colors, mesh_distances, render, to_open3d

    tag = f"{stem}_{noise}"
    vmax = 0.01
    diag = float(np.linalg.norm(np.ptp(gt_mesh.vertices, axis=0)))
    meshes = {name: read_mesh(tmp / f"{tag}_{name}.ply") for name in ("Poisson_d8", "DGP")}
    errors = [to_open3d(m, distance_colors(mesh_distances(m, gt_mesh) / diag, vmax)) for m in meshes.values()]
    panels = [render([obj], size=(420, 420)) for obj in [read_points(inp), *meshes.values(), *errors]]
    titles = [f"input ({100 * noise:g}% noise)", "Poisson depth 8", "DGP", "Poisson d8 error", "DGP error"]
    save_png(
        out / f"surface_{stem}.png", compose(panels, titles, (vmax, "distance / diagonal", "viridis"), panel_width=3.2)
    )


if __name__ == "__main__":
    main()
