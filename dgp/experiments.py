"""``dgp experiment surface-early-stopping``: the shape is fit first, then the noise.

One patch of a noisy sphere (a cap of radius ~0.6 on the unit sphere, Gaussian noise) is fit
by the local phase for an increasing number of steps. For each, the figure shows the mean
distance of the chart φ(uv) to the clean sphere and the RMS distance of φ(uv_i) to its matched
noisy point; the first falls and then rises again as the chart starts following the noise,
the second keeps falling. The step that the discrepancy rule (`dgp.fit`) picks is marked.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

EXPERIMENTS = ("surface-early-stopping",)


def surface_early_stopping(out, seed: int = 0, quick: bool = False) -> dict:
    """Run the experiment, write ``surface-early-stopping.png`` and ``.csv`` into ``out``; return a summary."""
    import torch

    from dgp.fit import ChartFitConfig, fit_local
    from dgp.patches import make_patches
    from dgp.pointcloud import estimate_noise
    from dgp.surface import chart_points_and_normals, uv_grid
    from dgp.util import atomic_path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n, noise = (400, 0.03) if quick else (1000, 0.03)
    d = rng.normal(size=(40 * n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    clean = d[d[:, 2] > 0.8][:n]
    noisy = clean + noise * rng.normal(size=clean.shape)
    p = make_patches(noisy, clean, radius=10.0, padding=1.0, min_points=10, seed=seed)
    local = p.to_local(noisy)
    sigma = np.array([estimate_noise(noisy) / p.scale[0]])
    widths = (2, 128, 128, 3)
    checkpoints = sorted(set(np.unique(np.geomspace(10, 2000 if quick else 5000, 16 if quick else 24).astype(int))))
    rows = []
    for steps in checkpoints:
        cfg = ChartFitConfig(widths=widths, local_steps=int(steps), match_every=25, stop="fixed", lr=3e-3, seed=seed)
        state = fit_local(p.uv, local, p.mask, sigma, cfg, seed=seed)
        net = state.network()
        k = p.counts[0]
        grid = uv_grid(p.uv[:, :k].min(1), p.uv[:, :k].max(1), 24)
        loc, _ = chart_points_and_normals(net, grid)
        world = p.to_world(loc)[0]
        inner = np.linalg.norm(world[:, :2], axis=1) < 0.5
        to_clean = float(np.abs(np.linalg.norm(world[inner], axis=1) - 1).mean())
        with torch.no_grad():
            pred = net(torch.as_tensor(p.uv[:, :k], dtype=torch.float32)).double().numpy()
        matched = local[0, state.match[0, :k]]
        resid = float(np.sqrt(np.mean(np.sum((pred[0] - matched) ** 2, axis=1)))) * p.scale[0]
        rows.append([int(steps), to_clean, resid])
    cfg = ChartFitConfig(
        widths=widths, local_steps=int(checkpoints[-1]), match_every=25, stop="discrepancy", lr=3e-3, seed=seed
    )
    chosen = int(fit_local(p.uv, local, p.mask, sigma, cfg, seed=seed).stopped_at[0])
    with atomic_path(out / "surface-early-stopping.csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["steps", "mean_distance_to_clean_surface", "rms_distance_to_matched_noisy_points"])
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    r = np.array(rows)
    ax.plot(r[:, 0], r[:, 1], "o-", label="chart to the clean sphere (mean)")
    ax.plot(r[:, 0], r[:, 2], "s-", label="chart to its matched noisy points (RMS)")
    ax.axhline(noise, color="gray", ls=":", label=f"noise σ = {noise}")
    ax.axvline(chosen, color="k", ls="--", label=f"discrepancy rule: step {chosen}")
    ax.set_xscale("log")
    ax.set_xlabel("local-phase steps")
    ax.set_ylabel("distance (sphere radius = 1)")
    ax.set_title(f"one patch, {len(clean)} noisy points on a sphere cap")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(out / "surface-early-stopping.png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    best = int(np.argmin(r[:, 1]))
    return {
        "best_step": int(r[best, 0]),
        "best_distance": float(r[best, 1]),
        "final_distance": float(r[-1, 1]),
        "discrepancy_step": chosen,
        "first_residual": float(r[0, 2]),
        "final_residual": float(r[-1, 2]),
    }


def cmd_experiment(args) -> int:
    import json

    print(f"seed {args.seed}")
    summary = surface_early_stopping(args.output, seed=args.seed, quick=args.quick)
    print(f"wrote {args.output}/surface-early-stopping.png and .csv")
    print(json.dumps(summary))
    return 0
