"""The learning-rate schedule of the low-noise fit: the rule behind `dgp.patches.lr_schedule_for`.

On clean dense scans the charts sat about 1e-4 of the diagonal off the surface (a third of a
point spacing of residual to their matched points) whatever the stopping rule or the consistency
phase did: the bunny's 100k-point noise-free scan came out 1.17x Poisson's Chamfer-L1
(benchmarks/results/real.md). This script measures the charts themselves, apart from the
meshing: on each input (a noise-free or nearly noise-free scan of a shared mesh) it makes the
patches as ``dgp reconstruct`` does, fits ``--patches`` of them chosen at random with the local
phase at the budget `dgp.patches.fit_budget_for` gives it, under each schedule, and measures how
far the charts' dense samples (within the patch radius, as the mesh keeps them) lie from the mesh
the scan came from, as a fraction of its diagonal. The last input (0.05% noise) lies at
`dgp.patches.BUDGET_RHO` and runs the noisy budget: it shows the schedule there, which the
defaults do not use (the noisier fits were not measured with it).

**Rule:** the schedule with the lowest mean over the inputs of (error / the input's error at a
constant rate), among those whose total seconds are at most ``MAX_TIME`` times the constant
rate's. Writes ``lr_schedule.md`` and ``lr_schedule.json`` to ``--out`` (default benchmarks/results/).

    .venv/bin/python benchmarks/lr_schedule.py            # about 6 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._util import add_render_argument, rerender  # noqa: E402
from dgp.util import write_text  # noqa: E402

#: (mesh stem, points, noise as a fraction of the diagonal)
INPUTS = [
    ("stanford-bunny", 100_000, 0.0),
    ("fandisk", 100_000, 0.0),
    ("pcu_bunny_lowres", 100_000, 0.0),
    ("fandisk", 40_000, 0.0),
    ("stanford-bunny", 100_000, 0.0005),
]
SCHEDULES = ("constant", "step")
#: the chosen schedule may take at most this many times the constant rate's seconds
MAX_TIME = 1.2


def measure(stem: str, n: int, noise: float, meshes: Path, patches: int, seed: int) -> dict:
    """One input: ``{"ratio": noise / spacing, "<schedule>": {"error": mean, "p90": ..., "seconds": ...}}``."""
    import torch

    from dgp.fit import fit_local
    from dgp.io import noisy_scan, read_mesh
    from dgp.metrics import surface_distances
    from dgp.patches import auto_radius, make_patches, surface_spacing
    from dgp.pointcloud import estimate_noise, unit_frame
    from dgp.reconstruction import ReconstructionConfig, resolve_auto
    from dgp.surface import uv_grid

    gt = read_mesh(sorted(meshes.glob(f"{stem}.*"))[0])
    diag = float(np.linalg.norm(gt.bounds[1] - gt.bounds[0]))
    scan = noisy_scan(gt, n, noise, seed=seed)
    frame = unit_frame(scan.points)
    pts = frame.to_unit(scan.points)
    sigma, spacing = estimate_noise(pts, seed=seed), surface_spacing(pts, seed=seed)
    cfg = resolve_auto(ReconstructionConfig(seed=seed, device="cpu", progress=False), sigma, spacing)
    p = make_patches(
        pts, scan.normals, auto_radius(spacing, sigma), cfg.padding, cfg.angle, cfg.min_points, cfg.max_points,
        seed=seed, cover=cfg.core, workers=torch.get_num_threads(),
    )  # fmt: skip
    sel = np.sort(np.random.default_rng(seed + 1).choice(len(p), min(patches, len(p)), replace=False))
    k = int(p.counts[sel].max())
    local, nloc = p.to_local(pts), p.directions_to_local(scan.normals)
    uv = np.where(p.mask[sel, :k][..., None], p.uv[sel, :k], np.nan)
    grid = uv_grid(np.nanmin(uv, 1), np.nanmax(uv, 1), cfg.density)
    out = {"ratio": sigma / spacing, "steps": cfg.local_steps, "lr": cfg.lr, "patches": len(sel)}
    for schedule in SCHEDULES:
        fcfg = dataclasses.replace(cfg, lr_schedule=schedule).fit_config()
        t = time.time()
        st = fit_local(
            p.uv[sel, :k], local[sel, :k], p.mask[sel, :k], sigma / p.scale[sel], fcfg, seed, normals=nloc[sel, :k]
        )
        sec = time.time() - t
        loc = st.evaluate(torch.as_tensor(grid, dtype=torch.float32)).double().numpy()
        world = p.to_world(loc, sel)
        inside = np.linalg.norm(world - pts[p.centers[sel]][:, None], axis=-1) <= cfg.core * p.radius
        d = surface_distances(gt, frame.from_unit(world[inside]))[0] / diag
        r = out[schedule] = {"error": float(d.mean()), "p90": float(np.quantile(d, 0.9)), "seconds": sec}
        print(f"{stem} {n} {noise:g} {schedule}: {r['error']:.3e} (p90 {r['p90']:.3e}) {sec:.0f} s", flush=True)
    return out


def choose(rows: list) -> str:
    """The rule (module docstring) over ``rows``, each a `measure` result."""
    base_time = sum(r["constant"]["seconds"] for r in rows)
    ok = [s for s in SCHEDULES if sum(r[s]["seconds"] for r in rows) <= MAX_TIME * base_time]
    return min(ok, key=lambda s: np.mean([r[s]["error"] / r["constant"]["error"] for r in rows]))


def render(data: dict) -> str:
    from dgp.fit import STEP_SCHEDULE_TEXT

    rows = data["rows"]
    lines = [
        "# The learning-rate schedule of the low-noise fit",
        "",
        f"Made by `{data['cmd']}` in {data['minutes']:.0f} minutes on this machine. {rows[0]['patches']} random "
        "patches of each input fit with the local phase at the budget its noise calls for; the error is the mean "
        "distance of the charts' dense samples (within the patch radius) to the mesh the scan came from, as a "
        f"fraction of its diagonal (p90 in brackets). `step`: {STEP_SCHEDULE_TEXT}.",
        "",
        "| input | points | noise | noise / spacing | steps @ lr | constant | step | step / constant "
        "| s constant | s step |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (stem, n, noise), r in zip(data["inputs"], rows):
        c, s = r["constant"], r["step"]
        lines.append(
            f"| {stem} | {n} | {100 * noise:.2f}% | {r['ratio']:.3f} | {r['steps']} @ {r['lr']:g} "
            f"| {c['error']:.3e} ({c['p90']:.3e}) | {s['error']:.3e} ({s['p90']:.3e}) "
            f"| {s['error'] / c['error']:.3f} | {c['seconds']:.0f} | {s['seconds']:.0f} |"
        )
    lines += [
        "",
        f"Rule (lowest mean error relative to the constant rate, within {MAX_TIME:g}x its seconds): "
        f"**{data['choice']}**.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meshes", default=str(ROOT.parent / "shared" / "data" / "meshes"))
    ap.add_argument("--patches", type=int, default=128)
    ap.add_argument("--only", default="", help="comma-separated indices of INPUTS (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    add_render_argument(ap)
    args = ap.parse_args(argv)
    if args.render:
        rerender(args.render, render)
        return
    import torch

    torch.set_num_threads(args.threads)
    print(f"seed {args.seed}, {args.threads} threads", flush=True)
    which = [int(i) for i in args.only.split(",")] if args.only else list(range(len(INPUTS)))
    t0 = time.time()
    rows = [measure(*INPUTS[i], Path(args.meshes), args.patches, args.seed) for i in which]
    cmd = f".venv/bin/python benchmarks/lr_schedule.py --patches {args.patches} --threads {args.threads}"
    cmd += f" --seed {args.seed}"
    if args.only:
        cmd += f" --only {args.only}"
    data = {
        "cmd": cmd,
        "minutes": (time.time() - t0) / 60,
        "inputs": [INPUTS[i] for i in which],
        "rows": rows,
        "choice": choose(rows),
    }
    out = Path(args.out or ROOT / "benchmarks" / "results")
    write_text(out / "lr_schedule.json", json.dumps(data, indent=1) + "\n")
    write_text(out / "lr_schedule.md", render(data))
    print(render(data))


if __name__ == "__main__":
    main()
