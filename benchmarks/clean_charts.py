"""What holds the charts off a clean scan: fit settings against the charts' error, on crops.

On noise-free dense scans DGP's mesh is about as far from the truth as Screened Poisson's
(benchmarks/results/real.md: bunny 100k at 0% is 1.03x Poisson d8's Chamfer-L1), and its chart
samples alone are further (the mesh of the input points with the charts' normals is closer than
the mesh of the samples). This script asks which part of the fit holds the charts off, by
measurement on a piece of each scan (a ball of ``--crop`` x the diagonal around one point, fit at
the patch radius and budget the *whole* scan calls for, so one variant takes a minute or two):

- the charts' dense samples within the inner 70% of the ball, against the true surface: mean,
  median and 90th percentile distance, and the signed mean (outward normals; a bias such as
  shrinkage shows here, a wobble about the surface does not);
- the same at the data: each chart at its uv samples (where it is matched to input points) against
  the truth. If the error there is as large as between the points, the charts do not reach the
  points themselves (the fit), rather than bending away between them (interpolation);
- variants: the defaults; no consistency phase; no stopping rule; three times the local steps;
  matching every 10 steps instead of 50; wider and deeper charts; uv samples taken from the points'
  own tangent-plane coordinates instead of a blue-noise set (``--uv points``).

Writes ``clean_charts.md`` and ``clean_charts.json`` to ``--out`` (default benchmarks/results/).
About 15 minutes on 2 cores for the default two shapes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dgp.util import write_text  # noqa: E402

VARIANTS = {
    "defaults": {},
    "no consistency phase": {"consistency_steps": 0},
    "no stopping rule": {"stop": "fixed"},
    "3x local steps": {"local_steps": "3x"},
    "match every 10": {"match_every": 10},
    "wider charts (256-256-256)": {"widths": (2, 256, 256, 256, 3)},
    "uv from the points": {"uv": "points"},
}
SHARED = ROOT.parent / "shared" / "data" / "meshes"


def crop_ball(points: np.ndarray, normals: np.ndarray, frac: float, diagonal: float):
    """The points (and normals) within ``frac`` x ``diagonal`` of point N // 3, and that centre."""
    centre = points[len(points) // 3]
    sel = np.linalg.norm(points - centre, axis=1) < frac * diagonal
    return points[sel], normals[sel], centre


def signed_distances(mesh, points: np.ndarray) -> np.ndarray:
    """``(M,)`` distances of ``points`` to ``mesh``, signed by the side of its closest face's normal."""
    from dgp.metrics import surface_distances

    d, tri = surface_distances(mesh, points)
    side = np.sum((points - mesh.vertices[mesh.faces[tri, 0]]) * mesh.face_normals[tri], axis=1)
    return np.where(side < 0, -d, d)


def chart_at_data(rec) -> np.ndarray:
    """``(M, 3)`` every fitted chart evaluated at its own uv samples, in the input's frame."""
    import torch

    p, out = rec.patches, []
    for start in range(0, len(p), 256):
        sel = np.arange(start, min(len(p), start + 256))
        with torch.no_grad():
            loc = rec.charts.evaluate(torch.as_tensor(p.uv[sel], dtype=torch.float32), rows=sel).double().numpy()
        world = p.to_world(loc, sel)
        out.append(world[p.mask[sel] & rec.fitted[sel, None]])
    return rec.frame.from_unit(np.concatenate(out))


def measure(rec, gt, centre, inner: float, diagonal: float) -> dict:
    """Errors of the dense samples and of the charts at the data, within ``inner`` of ``centre``."""
    row = {}
    for name, pts in (("dense", rec.sample().points), ("data", chart_at_data(rec))):
        pts = pts[np.linalg.norm(pts - centre, axis=1) < inner]
        d = signed_distances(gt, pts) / diagonal
        a = np.abs(d)
        row.update(
            {
                f"{name}_mean": float(a.mean()),
                f"{name}_p50": float(np.median(a)),
                f"{name}_p90": float(np.quantile(a, 0.9)),
                f"{name}_signed": float(d.mean()),
            }
        )
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="stanford-bunny,fandisk")
    ap.add_argument("--meshes", default=str(SHARED))
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--noises", default="0", help="comma-separated noise levels, fractions of the diagonal")
    ap.add_argument("--crop", type=float, default=0.1, help="ball radius, fraction of the diagonal")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    print(f"seed {args.seed}, {args.threads} threads", flush=True)

    import dataclasses

    import torch

    from dgp.io import noisy_scan, read_mesh
    from dgp.patches import auto_radius, surface_spacing
    from dgp.pointcloud import PointCloud, estimate_noise, unit_frame
    from dgp.reconstruction import ReconstructionConfig, reconstruct, resolve_auto

    torch.set_num_threads(args.threads)
    out = Path(args.out or ROOT / "benchmarks" / "results")
    out.mkdir(parents=True, exist_ok=True)
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {list(VARIANTS)}")
    t_start = time.time()
    rows = []
    inputs = [(s, float(n)) for n in args.noises.split(",") if n for s in args.shapes.split(",") if s]
    for stem, noise in inputs:
        gt = read_mesh(sorted(Path(args.meshes).glob(f"{stem}.*"))[0])
        diagonal = float(np.linalg.norm(gt.bounds[1] - gt.bounds[0]))
        scan = noisy_scan(gt, args.points, noise, seed=args.seed)
        # the settings the whole scan calls for, measured in its unit frame as `reconstruct` does
        unit = unit_frame(scan.points).to_unit(scan.points)
        sigma, spacing = estimate_noise(unit, seed=args.seed), surface_spacing(unit, seed=args.seed)
        whole = resolve_auto(ReconstructionConfig(seed=args.seed, progress=False), sigma, spacing)
        pts, nrm, centre = crop_ball(scan.points, scan.normals, args.crop, diagonal)
        whole_radius = auto_radius(spacing, sigma)
        radius = whole_radius * diagonal / unit_frame(pts).scale  # the crop's unit frame is its own
        print(f"{stem} at {100 * noise:g}%: {len(pts)} points in the crop; whole-scan radius {whole_radius:.4g}")
        for name in names:
            change = dict(VARIANTS[name])
            if change.get("local_steps") == "3x":
                change["local_steps"] = 3 * whole.local_steps
            cfg = dataclasses.replace(whole, radius=radius, **change)
            t = time.time()
            rec = reconstruct(PointCloud(pts, nrm), cfg)
            seconds = time.time() - t
            row = {"shape": stem, "noise": noise, "points": len(pts), "variant": name, "patches": len(rec.patches)}
            row.update(measure(rec, gt, centre, 0.7 * args.crop * diagonal, diagonal))
            row.update(seconds=seconds, stopped_early=float(np.mean(rec.charts.stopped_at < cfg.local_steps)))
            rows.append(row)
            print(json.dumps(row), flush=True)
    minutes = (time.time() - t_start) / 60
    given = {"threads": args.threads, "seed": args.seed, "shapes": args.shapes, "crop": args.crop}
    given.update({k: v for k, v in (("points", args.points), ("noises", args.noises)) if v != ap.get_default(k)})
    cmd = ".venv/bin/python benchmarks/clean_charts.py " + " ".join(f"--{k} {v}" for k, v in given.items())
    write_text(out / "clean_charts.json", json.dumps({"command": cmd, "rows": rows}, indent=1))
    write_text(out / "clean_charts.md", report(rows, cmd, minutes, args))
    print(f"wrote {out / 'clean_charts.md'}")


def report(rows: list, cmd: str, minutes: float, args) -> str:
    lines = [
        "# What holds the charts off a clean scan",
        "",
        f"Made by `{cmd}` in {minutes:.0f} minutes on this machine. Scans of {args.points} points; "
        f"each variant fit to the points within {args.crop:g} of the diagonal of "
        "one point, at the radius and budget the whole scan calls for. Distances to the true surface, "
        "fractions of the diagonal, within the inner 70% of the ball: the charts' dense samples, and the "
        "charts at their own uv samples (*at data*, where they are matched to input points). *signed*: the "
        "mean with the outward normal's sign.",
        "",
        "| shape | noise | variant | patches | dense mean | dense p50 | dense p90 | dense signed | at data mean "
        "| at data p50 | at data signed | mean / defaults | s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    base = {(r["shape"], r["noise"]): r["dense_mean"] for r in rows if r["variant"] == "defaults"}
    for r in rows:
        key = (r["shape"], r["noise"])
        ratio = r["dense_mean"] / base[key] if key in base else float("nan")
        lines.append(
            f"| {r['shape']} | {100 * r['noise']:g}% | {r['variant']} | {r['patches']} "
            f"| {r['dense_mean']:.3e} | {r['dense_p50']:.3e} "
            f"| {r['dense_p90']:.3e} | {r['dense_signed']:+.1e} | {r['data_mean']:.3e} | {r['data_p50']:.3e} "
            f"| {r['data_signed']:+.1e} | {ratio:.3f} | {r['seconds']:.0f} |"
        )
    note = "Each variant changes one setting of the whole scan's defaults (`VARIANTS` in the script); "
    note += "*s*: its fit's seconds."
    lines += ["", note, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
