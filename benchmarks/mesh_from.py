"""What the mesh is fit to on clean scans: the rule behind `dgp.patches.mesh_from_for`.

On clean dense scans the charts, piecewise-linear maps of a few hundred ReLUs each, lie about
1e-4 of the diagonal off their points whatever the fit's budget or schedule did (the bunny's
100k-point noise-free scan: 1.15x Poisson depth 8's Chamfer-L1, benchmarks/results/real.md),
while the points themselves are exact. This script fits each input once with ``dgp reconstruct``
at its defaults (``--state`` kept) and meshes the fit three ways with ``dgp export --mesh-from``:

- ``charts``: Screened Poisson of the charts' dense samples (the mesh before this setting);
- ``input``: Screened Poisson of the input points, each with the normal of its nearest chart
  sample (the analytic normal of the chart), where a chart sample is near;
- ``union``: both;

each trimmed to the charts' samples as ``dgp reconstruct`` trims. Open3D Screened Poisson depth
8 of the input (trimmed and untrimmed) runs beside them. Inputs: a slab of the real SRB scan
(judged against the scan: scan->mesh mean and mesh->scan 99th percentile, its units) and 40k-point
scans of the shared meshes at 0% to 0.1% noise (against the mesh: Chamfer-L1 and Hausdorff,
fractions of the diagonal); each input's noise-to-spacing ratio is listed.

**Rule:** for the inputs on each side of `dgp.patches.BUDGET_RHO` (the low-noise fit's
threshold), the choice with the lowest mean of (error / the ``charts`` error) among those whose
second measure (Hausdorff, or the mesh->scan 99th percentile: surface where there is none) is at
most ``MAX_SPURIOUS`` times the ``charts`` one on every input of that side. Writes
``mesh_from.md`` and ``mesh_from.json`` to ``--out`` (default benchmarks/results/), merging the
inputs of earlier runs (``--only`` reruns some). About 30 minutes on 2 cores.

    .venv/bin/python benchmarks/mesh_from.py
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

from benchmarks._util import add_render_argument, reconstruct_measured, rerender, run_measured, scratch  # noqa: E402
from benchmarks.normal_weight import add_run_arguments, make_input, noise_to_spacing  # noqa: E402
from dgp.util import write_text  # noqa: E402

#: (name, mesh stem or "srb_dc" for the real slab, points, noise as a fraction of the diagonal, normals)
INPUTS = [
    ("srb_dc slab (real)", "srb_dc", 0, 0.0, "scanner"),
    ("bunny 40k 0%", "stanford-bunny", 40_000, 0.0, "exact"),
    ("fandisk 40k 0%", "fandisk", 40_000, 0.0, "exact"),
    ("pcu bunny 40k 0%", "pcu_bunny_lowres", 40_000, 0.0, "exact"),
    ("bunny 40k 0.05%", "stanford-bunny", 40_000, 0.0005, "exact"),
    ("fandisk 40k 0.1%", "fandisk", 40_000, 0.001, "exact"),
]
CHOICES = ("charts", "input", "union")
POISSON = {"P8": ["--poisson-depth", "8"], "P8 untrimmed": ["--poisson-depth", "8", "--poisson-trim", "0"]}
#: a choice may raise the second measure (Hausdorff, mesh->scan p99) on no input by more than this factor
MAX_SPURIOUS = 1.1


#: the measures `errors_of` reports, from `dgp.metrics.scan_distances` (no ground truth) or `compare_meshes`
MEASURES = {
    "scan": {"error": "scan_to_mesh_mean", "spurious": "mesh_to_scan_p99", "boundary_edges": "boundary_edges"},
    "mesh": {"error": "chamfer_l1", "spurious": "hausdorff", "boundary_edges": "boundary_edges"},
}


def errors_of(mesh_path, gt, scan_path) -> dict:
    """``{"error": Chamfer-L1 or scan->mesh mean, "spurious": Hausdorff or mesh->scan p99, "boundary_edges"}``."""
    from dgp.io import read_mesh, read_points
    from dgp.metrics import compare_meshes, scan_distances

    mesh = read_mesh(mesh_path)
    if gt is None:
        found, keys = scan_distances(mesh, read_points(scan_path).points), MEASURES["scan"]
    else:
        found, keys = compare_meshes(mesh, gt), MEASURES["mesh"]
    return {name: found[key] for name, key in keys.items()}


def side(ratio: float) -> str:
    """``low`` below `dgp.patches.BUDGET_RHO` (the low-noise fit), else ``noisy``."""
    from dgp.patches import BUDGET_RHO

    return "low" if ratio < BUDGET_RHO else "noisy"


def choose(rows) -> dict:
    """Per side (`side`): ``{"choice", "scores": {choice: mean error / charts' error}, "allowed": [...]}``
    by the rule in the module docstring; a side without inputs is left out."""
    out = {}
    for name in ("low", "noisy"):
        mine = [r for r in rows if side(r["ratio"]) == name]
        if not mine:
            continue
        scores, allowed = {}, []
        for c in CHOICES:
            scores[c] = float(np.mean([r["dgp"][c]["error"] / r["dgp"]["charts"]["error"] for r in mine]))
            spur = [r["dgp"][c]["spurious"] / r["dgp"]["charts"]["spurious"] for r in mine]
            if max(spur) <= MAX_SPURIOUS:
                allowed.append(c)
        best = min(allowed, key=lambda c: (round(scores[c], 6), CHOICES.index(c)))
        out[name] = {"choice": best, "scores": scores, "allowed": allowed}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="comma-separated indices of INPUTS (default: all)")
    add_render_argument(ap)
    add_run_arguments(ap)
    args = ap.parse_args(argv)
    if args.render:
        return rerender(args.render, render)
    print(f"seed {args.seed}, {args.threads} threads", flush=True)
    out = Path(args.out or ROOT / "benchmarks" / "results")
    out.mkdir(parents=True, exist_ok=True)
    tmp = scratch("dgp-meshfrom-")
    picked = [INPUTS[int(i)] for i in args.only.split(",")] if args.only else INPUTS
    record = out / "mesh_from.json"
    rows = json.loads(record.read_text())["rows"] if record.exists() else []
    dgp_bin = str(Path(sys.executable).parent / "dgp")
    t0 = time.time()
    for spec in picked:
        scan, gt = make_input(spec, tmp, args.seed, Path(args.shared))
        row = {"input": spec[0], "ratio": noise_to_spacing(scan), "dgp": {}, "poisson": {}, "seconds": {}}
        state = tmp / "fit.pt"
        mesh = tmp / "dgp_charts.ply"
        r = reconstruct_measured(scan, mesh, args.seed, args.threads, ["--mesh-from", "charts", "--state", str(state)])
        row["seconds"]["fit"] = r["seconds"]
        row["dgp"]["charts"] = errors_of(mesh, gt, scan)
        for c in CHOICES[1:]:
            mesh = tmp / f"dgp_{c}.ply"
            r = run_measured([dgp_bin, "export", str(state), "-o", str(mesh), "--mesh-from", c])
            row["seconds"][c] = r["seconds"]
            row["dgp"][c] = errors_of(mesh, gt, scan)
        for name, flags in POISSON.items():
            mesh = tmp / "poisson.ply"
            r = reconstruct_measured(scan, mesh, args.seed, args.threads, ["--method", "poisson", *flags])
            row["poisson"][name] = errors_of(mesh, gt, scan)
        rows = [x for x in rows if x["input"] != row["input"]] + [row]
        rows.sort(key=lambda x: [i[0] for i in INPUTS].index(x["input"]))
        print(json.dumps(row), flush=True)
        cmd = f".venv/bin/python benchmarks/mesh_from.py --threads {args.threads} --seed {args.seed}"
        cmd += f" --only {args.only}" if args.only else ""
        rec = {"command": cmd, "minutes": (time.time() - t0) / 60, "rows": rows, "rule": choose(rows)}
        write_text(record, json.dumps(rec, indent=1))
        write_text(out / "mesh_from.md", render(rec))
    print(f"wrote {out / 'mesh_from.md'}")


def render(rec: dict) -> str:
    """mesh_from.md from a record."""
    lines = [
        "# What the mesh is fit to on clean scans",
        "",
        f"Made by `{rec['command']}` ({rec['minutes']:.0f} min for the inputs it measured). DGP fit once per "
        "input at its defaults; its mesh made from the charts' dense samples (*charts*), from the input "
        "points with the charts' normals (*input*), or from both (*union*), trimmed alike; Screened Poisson "
        "depth 8 of the input beside them. Error: scan->mesh mean (real slab, its units) or Chamfer-L1 "
        "(fraction of the diagonal); second measure: mesh->scan p99 or Hausdorff.",
        "",
        "| input | noise / spacing | measure | charts | input | union | Poisson d8 | d8 untrimmed | fit s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rec["rows"]:
        for key, label in (("error", "error"), ("spurious", "second"), ("boundary_edges", "boundary edges")):
            fmt = (lambda v: f"{int(v)}") if key == "boundary_edges" else (lambda v: f"{v:.4g}")
            cells = [fmt(r["dgp"][c][key]) for c in CHOICES] + [fmt(r["poisson"][p][key]) for p in POISSON]
            head = [r["input"], f"{r['ratio']:.3f}"] if key == "error" else ["", ""]
            tail = [f"{r['seconds']['fit']:.0f}"] if key == "error" else [""]
            lines.append("| " + " | ".join(head + [label] + cells + tail) + " |")
    lines += ["", "Mean of error / the charts' error, per side of the low-noise threshold:", ""]
    lines += ["| side | inputs | " + " | ".join(CHOICES) + " | allowed | choice |", "| --- " * (len(CHOICES) + 4) + "|"]
    for name, ch in rec["rule"].items():
        n = sum(1 for r in rec["rows"] if side(r["ratio"]) == name)
        cells = [f"{ch['scores'][c]:.3f}" for c in CHOICES]
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + f" | {', '.join(ch['allowed'])} | **{ch['choice']}** |")
    lines += [
        "",
        f"Rule: per side, the lowest mean ratio among the choices whose second measure is at most {MAX_SPURIOUS:g}x "
        "the charts' on every input of that side. The default (`--mesh-from auto`, `dgp.patches.mesh_from_for`) "
        "takes the low side's choice below the threshold and the charts above it.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
