"""The exact matching on the CPU: POT's EMD, scipy's linear assignment, and lap's Jonker–Volgenant.

Every ``match_every`` steps the fit matches each patch's chart samples to its points exactly
(`dgp.matching.match`, ``--matching emd`` by default or ``lsa``). Is a faster exact solver worth
adding? This script times one matching of a batch of patches by each, in the same run and on the
same patches: ``emd`` and ``lsa`` as `dgp.matching.match` runs them (the patches spread over
threads; both solvers release the GIL), and the Jonker–Volgenant solver of the ``lap`` package
(``pip install lap``, or the ``bench`` extra; skipped without it) as fast as it could be wired in:
the costs of 16 patches at a time in one batched torch product, then ``lap.lapjv`` patch after
patch (it holds the GIL, so threads cannot share its work). Every solver must land on the
optimum: the table gives the largest relative excess of its total squared distance over lsa's,
and how many patches got the very same matching.

Two kinds of patch: *running*, a flat patch against a shuffled noisy copy of itself (a running
fit's samples lie near their points), and *scattered*, Gaussian samples against an independent
Gaussian cloud (the hardest case). Patches hold K/2 to K points (padding beside them), as a real
batch does. ``--fit`` also fits three inputs (the sample bunny, a slab of the real SRB scan, a clean fandisk
scan) with ``emd`` and with ``lsa`` at the defaults: the fit's time, its matching time, and the
distance of its dense samples to the ground truth; the rule in `choose` picks the default solver.

    python benchmarks/matching.py --patches 1024 --points 64,128,256 --threads 2 [--fit]

Writes benchmarks/results/matching_cpu.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: the solvers timed; lapjv only where lap is installed
METHODS = ("emd", "lsa", "lapjv")


def match_lapjv(pred, points, counts, chunk: int = 16):
    """(P, K) int: the exact matching by ``lap.lapjv``, costs built ``chunk`` patches at a time in torch."""
    import lap
    import torch

    P, K = pred.shape[:2]
    index = np.tile(np.arange(K), (P, 1))
    a_all, b_all = torch.from_numpy(pred), torch.from_numpy(points)
    buf = torch.empty((chunk, K, K), dtype=torch.float64)
    for s in range(0, P, chunk):
        a, b = a_all[s : s + chunk], b_all[s : s + chunk]
        out = buf[: len(a)]
        torch.baddbmm(
            (a * a).sum(-1)[:, :, None] + (b * b).sum(-1)[:, None, :], a, b.transpose(1, 2), alpha=-2, out=out
        )
        cost = out.clamp_(min=0.0).numpy()
        for q in range(len(a)):
            n = int(counts[s + q])
            if n > 1:
                index[s + q, :n] = lap.lapjv(np.ascontiguousarray(cost[q, :n, :n]), return_cost=False)[0]
    return index


def have_lap() -> bool:
    try:
        import lap  # noqa: F401
    except ImportError:
        return False
    return True


def make_patches(kind: str, P: int, K: int, rng):
    """(pred, points, counts): P padded patches of K/2..K real points of the given kind."""
    if kind == "running":
        pred = rng.uniform(-1, 1, size=(P, K, 3)) * [1.0, 1.0, 0.05]
        points = pred + 0.05 * rng.normal(size=pred.shape)
    else:
        pred, points = rng.normal(size=(P, K, 3)), rng.normal(size=(P, K, 3))
    counts = rng.integers(K // 2, K + 1, size=P)
    for p, n in enumerate(counts):
        points[p, :n] = points[p, rng.permutation(n)]
        pred[p, n:] = points[p, n:] = 0.0
    return pred, points, counts


def time_solvers(pred, points, counts, threads: int, repeat: int, methods):
    """{method: (best seconds, index)}: each solver ``repeat`` times, interleaved, the best time kept."""
    from dgp.matching import match

    run = {m: (lambda m=m: match(pred, points, counts, m, workers=threads).index) for m in ("emd", "lsa")}
    run["lapjv"] = lambda: match_lapjv(pred, points, counts)
    best = {m: (np.inf, None) for m in methods}
    for _ in range(repeat):
        for m in methods:
            t = time.perf_counter()
            index = run[m]()
            best[m] = (min(best[m][0], time.perf_counter() - t), index)
    return best


def excess(pred, points, counts, index, optimum):
    """(largest relative excess of the total squared distance over ``optimum``, patches equal to it)."""
    worst, same = 0.0, 0
    for p, n in enumerate(counts):
        cost = lambda ix: float(((pred[p, :n] - points[p, ix[p, :n]]) ** 2).sum())  # noqa: E731
        opt = cost(optimum)
        worst = max(worst, cost(index) / opt - 1.0 if opt > 0 else 0.0)
        same += bool(np.array_equal(index[p, :n], optimum[p, :n]))
    return worst, same


#: the fits of ``--fit``: (name, normal_weight.py input spec or None for the sample bunny)
FIT_INPUTS = (
    ("sample bunny (20k, 0.5%)", None),
    ("SRB dc slab (real, 14k)", ("srb_dc slab", "srb_dc", 0, 0.0, "scanner")),
    ("fandisk 20k 0%", ("fandisk 20k 0%", "fandisk", 20_000, 0.0, "exact")),
)


def fit_rows(seed: int, inputs=FIT_INPUTS):
    """Default fits of each input by emd and by lsa, one after the other: rows (input, method, fit
    seconds, matching seconds of the local phase, Chamfer-L1 of the dense samples or NaN, samples)."""
    import dgp
    from benchmarks._util import sample_truth, scratch, surface_truth
    from benchmarks.normal_weight import SHARED, make_input
    from dgp.errors import InputError
    from dgp.metrics import compare_points

    tmp = scratch("dgp-matching-")
    rows = []
    for name, spec in inputs:
        if spec is None:
            cloud = dgp.read_points(ROOT / "data" / "bunny_noisy.ply")
            gpts, diag = sample_truth(ROOT)
        else:
            try:
                path, gt = make_input(spec, tmp, seed)
            except (InputError, StopIteration):  # the shared scans and meshes sit beside the repository
                print(f"skipping {name}: its source is not under {SHARED}", flush=True)
                continue
            cloud = dgp.read_points(path)
            gpts, diag = surface_truth(gt) if gt is not None else (None, None)
        for m in ("emd", "lsa"):
            t = time.perf_counter()
            rec = dgp.reconstruct(cloud, dgp.ReconstructionConfig(seed=seed, matching=m, progress=False))
            secs = time.perf_counter() - t
            dense = rec.sample()
            cd = compare_points(dense.points, gpts, diagonal=diag)["chamfer_l1"] if gpts is not None else float("nan")
            rows.append((name, m, secs, rec.matching_seconds, cd, dense.points))
            print(
                f"{name}, {m}: fit {secs:.1f} s, matching {rec.matching_seconds:.1f} s, Chamfer-L1 {cd:.4e}", flush=True
            )
    return rows


def equal_to_emd(fits) -> list[bool]:
    """Per row of `fit_rows`: are its dense samples exactly those of emd's fit of the same input?"""
    ref = {r[0]: r[5] for r in fits if r[1] == "emd"}
    return [pts.shape == ref[name].shape and bool(np.array_equal(pts, ref[name])) for name, *_, pts in fits]


def choose(fits) -> tuple[str, dict]:
    """The rule: among the exact solvers whose dense samples equal emd's on every input (the same
    matching, so the same charts), the one with the least matching time summed over the inputs.
    Returns (choice, {method: summed matching seconds})."""
    total, same = {}, {}
    for (_, m, _, match_s, _, _), eq in zip(fits, equal_to_emd(fits)):
        total[m] = total.get(m, 0.0) + match_s
        same[m] = same.get(m, True) and eq
    return min((m for m in total if same[m]), key=total.get), total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patches", type=int, default=1024)
    ap.add_argument("--points", default="64,128,256", help="comma-separated largest patch sizes K")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fit", action="store_true", help="also fit FIT_INPUTS with each solver; the rule picks one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "matching_cpu.md"))
    args = ap.parse_args(argv)
    print(f"seed {args.seed}", flush=True)
    import torch

    from dgp.util import write_text

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    methods = METHODS if have_lap() else METHODS[:2]
    if len(methods) < len(METHODS):
        print("lap is not installed (pip install lap): timing emd and lsa only", flush=True)
    warm = make_patches("running", 4, 8, rng)
    time_solvers(*warm, args.threads, 1, methods)  # imports and thread pools
    rows = []
    for kind in ("running", "scattered"):
        for K in [int(k) for k in args.points.split(",")]:
            pred, points, counts = make_patches(kind, args.patches, K, rng)
            best = time_solvers(pred, points, counts, args.threads, args.repeat, methods)
            checks = {m: excess(pred, points, counts, best[m][1], best["lsa"][1]) for m in methods}
            rows.append((kind, K, {m: best[m][0] for m in methods}, checks))
            print(kind, K, {m: round(best[m][0], 3) for m in methods}, flush=True)
    fits = fit_rows(args.seed) if args.fit else []

    flags = f"--patches {args.patches} --points {args.points} --threads {args.threads} --repeat {args.repeat}"
    lines = [
        "# The exact matching on the CPU",
        "",
        f"Made by `.venv/bin/python benchmarks/matching.py {flags}{' --fit' if args.fit else ''} --seed {args.seed}` "
        f"on {time.strftime('%Y-%m-%d')} ({args.threads} CPU threads; the best of {args.repeat} interleaved runs). "
        f"One matching of {args.patches} patches of K/2 to K points: emd and lsa by `dgp.matching.match` (on the "
        "threads), lapjv by `lap.lapjv` patch after patch (costs batched in torch). Excess: the largest relative "
        "excess of a patch's total squared distance over lsa's (exact solvers: 0 up to rounding); same: patches "
        "given the very same matching as lsa.",
        "",
    ]
    # the table's columns: (header, cell of a row (kind, K, seconds by method, checks by method))
    extra = [m for m in methods if m not in ("emd", "lsa")]
    cols = [(f"{m} s", lambda r, m=m: f"{r[2][m]:.3f}") for m in methods]
    cols.append(("emd / lsa", lambda r: f"{r[2]['emd'] / r[2]['lsa']:.2f}x"))
    for m in extra:
        cols += [
            (f"lsa / {m}", lambda r, m=m: f"{r[2]['lsa'] / r[2][m]:.2f}x"),
            (f"{m} excess", lambda r, m=m: f"{r[3][m][0]:.0e}"),
            (f"{m} same", lambda r, m=m: f"{r[3][m][1]}/{args.patches}"),
        ]
    cols.append(("emd same", lambda r: f"{r[3]['emd'][1]}/{args.patches}"))
    lines += ["| kind | K | " + " | ".join(h for h, _ in cols) + " |", "| --- | --- |" + " --- |" * len(cols)]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]} | " + " | ".join(cell(r) for _, cell in cols) + " |")
    if fits:
        lines += [
            "",
            "Default fits with each solver, one after the other on each input: fit seconds, the local phase's "
            "seconds in the matching (`Reconstruction.matching_seconds`, the forward pass that feeds it included), "
            "and the distance of the dense chart samples to the ground truth (Chamfer-L1, units of its diagonal; "
            "none for the real scan).",
            "",
            "| input | matching | fit s | matching s | matching share | Chamfer-L1 | samples equal to emd's |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for (name, m, secs, match_s, cd, _), same in zip(fits, equal_to_emd(fits)):
            cell = f"{cd:.4e}" if np.isfinite(cd) else ""
            share, eq = f"{match_s / secs:.0%}", "yes" if same else "no"
            lines.append(f"| {name} | {m} | {secs:.1f} | {match_s:.1f} | {share} | {cell} | {eq} |")
        pick, total = choose(fits)
        lines += [
            "",
            "Rule (the exact solver with the least matching time summed over the inputs, among those whose samples "
            "equal emd's on every input): **"
            + pick
            + "** ("
            + ", ".join(f"{m} {t:.1f} s" for m, t in total.items())
            + "); the default `--matching` must be this pick (a test checks).",
        ]
    lines.append("")
    write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
