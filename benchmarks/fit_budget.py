"""The local fit's budget (steps and learning rate) across inputs of different noise-to-spacing
ratios: the rule behind `dgp.patches.fit_budget_for`.

On the real SRB scan 99% of the patches ran all 500 local steps without their residual reaching
the noise level, so the discrepancy rule never stopped them: the charts were under-fit, not
held off by the rule (``--tau 0.4`` changed nothing). This script runs ``dgp reconstruct`` at two
budgets (``--budgets BASE,LONG``, each ``STEPS:LR``) on the inputs of `benchmarks.normal_weight`
whose normals are what a user has (a scanner's or estimated), and Screened Poisson depth 8 beside
them, judged as there (scan->mesh mean for the real slab, Chamfer-L1 against the mesh for the
synthetic scans), with DGP's seconds.

**Rule:** the long budget where the input's noise-to-spacing ratio is below a threshold, the base
budget at or above it. The threshold is the cut between the inputs' ratios (a geometric middle,
or past either end) that gives the lowest mean of (error / the input's best error over the two
budgets), among the cuts whose total seconds are at most ``MAX_TIME`` times the base budget's.
Writes ``fit_budget.md`` and ``fit_budget.json`` to ``--out`` (default benchmarks/results/),
merging the inputs of earlier runs (``--only`` reruns some).

    python benchmarks/fit_budget.py --budgets 500:0.003,1000:0.01 --only 0,8,3,9,5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._util import reconstruct_measured, scratch  # noqa: E402
from benchmarks.normal_weight import (  # noqa: E402
    INPUTS,
    add_run_arguments,
    error_of,
    make_input,
    noise_to_spacing,
)
from dgp.util import write_text  # noqa: E402

#: the rule's budgets together may take at most this many times the base budget's seconds
MAX_TIME = 2.5


def parse_budgets(text: str) -> list[tuple[int, float]]:
    """``"500:0.003,1000:0.01"`` -> ``[(500, 0.003), (1000, 0.01)]``."""
    out = []
    for part in text.split(","):
        steps, lr = part.split(":")
        out.append((int(steps), float(lr)))
    return out


def key(budget) -> str:
    return f"{budget[0]}:{budget[1]:g}"


def rule_budget(ratio: float, rho: float, keys) -> str:
    """The budget key the rule gives an input of this noise-to-spacing ``ratio``: the long one
    (``keys[1]``) below ``rho``, the base one (``keys[0]``) at or above it."""
    return keys[1] if ratio < rho else keys[0]


def choose(rows, budgets) -> dict:
    """The rule of the module docstring: ``{"rho": threshold, "score": mean relative error,
    "time": seconds over the base budget's, "scores": {cut: [error, time]}}``."""
    keys = [key(b) for b in budgets]
    rows = [r for r in rows if all(k in r["dgp"] for k in keys)]
    ratios = sorted(r["ratio"] for r in rows)
    cuts = [ratios[0] / 2] + [float(np.sqrt(a * b)) for a, b in zip(ratios, ratios[1:])] + [ratios[-1] * 2]
    base = sum(r["seconds"][keys[0]] for r in rows)
    scores = {}
    for rho in cuts:
        picked = [rule_budget(r["ratio"], rho, keys) for r in rows]
        rel = [r["dgp"][k] / min(r["dgp"][j] for j in keys) for r, k in zip(rows, picked)]
        time_ratio = sum(r["seconds"][k] for r, k in zip(rows, picked)) / base
        scores[float(rho)] = [float(np.mean(rel)), float(time_ratio)]
    allowed = [c for c in scores if scores[c][1] <= MAX_TIME]  # never empty: cuts[0] is the base budget alone
    best = min(allowed, key=lambda c: (round(scores[c][0], 6), c))
    return {"rho": best, "score": scores[best][0], "time": scores[best][1], "scores": scores}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budgets", default="500:0.003,1000:0.01", help="comma-separated STEPS:LR; the first is the base")
    ap.add_argument("--only", default="0,3,8,9,5", help="comma-separated indices of normal_weight.INPUTS")
    add_run_arguments(ap)
    args = ap.parse_args(argv)
    print(f"seed {args.seed}, {args.threads} threads", flush=True)
    budgets = parse_budgets(args.budgets)
    out = Path(args.out or ROOT / "benchmarks" / "results")
    out.mkdir(parents=True, exist_ok=True)
    tmp = scratch("dgp-budget-")
    picked = [INPUTS[int(i)] for i in args.only.split(",") if i]
    record = out / "fit_budget.json"
    rows = json.loads(record.read_text())["rows"] if record.exists() else []
    for spec in picked:
        if spec[4] == "exact":
            print(f"skipping {spec[0]}: exact normals are an oracle no scan has", flush=True)
            continue
        scan, gt = make_input(spec, tmp, args.seed, Path(args.shared))
        row = {"input": spec[0], "normals": spec[4], "ratio": noise_to_spacing(scan), "dgp": {}, "seconds": {}}
        for b in budgets:
            mesh = tmp / "dgp.ply"
            flags = ["--local-steps", str(b[0]), "--lr", f"{b[1]:g}"]
            r = reconstruct_measured(scan, mesh, args.seed, args.threads, flags)
            row["dgp"][key(b)] = error_of(mesh, gt, scan) if r["rc"] == 0 else float("nan")
            row["seconds"][key(b)] = r["seconds"]
        mesh = tmp / "poisson.ply"
        r = reconstruct_measured(scan, mesh, args.seed, args.threads, ["--method", "poisson", "--poisson-depth", "8"])
        row["p8"] = error_of(mesh, gt, scan) if r["rc"] == 0 else float("nan")
        rows = [r for r in rows if r["input"] != row["input"]] + [row]
        rows.sort(key=lambda r: [i[0] for i in INPUTS].index(r["input"]))
        print(json.dumps(row), flush=True)
        write(out, rows, budgets, args)
    if rows and not picked:  # --only '' re-renders the record with this code's rule
        write(out, rows, budgets, args)
    print(f"wrote {out / 'fit_budget.md'}")


def write(out: Path, rows, budgets, args) -> None:
    keys = [key(b) for b in budgets]
    pick = choose(rows, budgets)
    write_text(out / "fit_budget.json", json.dumps({"budgets": keys, "rows": rows, "pick": pick}, indent=1))
    lines = [
        "# The local fit's budget across inputs",
        "",
        f"Made by `.venv/bin/python benchmarks/fit_budget.py --budgets {args.budgets} --threads {args.threads} "
        f"--seed {args.seed}` (inputs merged across runs) on this machine (2 cores). Budget: local steps : Adam "
        "learning rate. Error: scan->mesh mean in the scan's units for the real slab, Chamfer-L1 against the mesh "
        "(fraction of the diagonal) for the synthetic scans; seconds: the whole `dgp reconstruct`. Noise / spacing "
        "as `dgp reconstruct` computes it.",
        "",
        "| input | normals | noise / spacing | "
        + " | ".join(f"DGP {k} | s" for k in keys)
        + " | rule | P8 | DGP (rule) / P8 |",
        "| --- | --- | --- | " + " | ".join("--- | ---" for _ in keys) + " | --- | --- | --- |",
    ]
    nan = float("nan")
    for r in rows:
        rule = rule_budget(r["ratio"], pick["rho"], keys)
        cells = " | ".join(f"{r['dgp'].get(k, nan):.4g} | {r['seconds'].get(k, nan):.0f}" for k in keys)
        lines.append(
            f"| {r['input']} | {r['normals']} | {r['ratio']:.3f} | {cells} | {rule} | {r['p8']:.4g} | "
            f"{r['dgp'].get(rule, nan) / r['p8']:.3f} |"
        )
    lines += [
        "",
        f"Rule: {keys[1]} where noise / spacing < rho, else {keys[0]}; at most {MAX_TIME:g}x the base budget's "
        f"seconds. Chosen rho = {pick['rho']:.3f} (mean error over the input's best {pick['score']:.4f}, "
        f"{pick['time']:.2f}x the base budget's seconds; "
        + ", ".join(f"{c:.3f}: {e:.4f} at {t:.2f}x" for c, (e, t) in sorted(pick["scores"].items()))
        + ").",
        "",
    ]
    write_text(out / "fit_budget.md", "\n".join(lines))


if __name__ == "__main__":
    main()
