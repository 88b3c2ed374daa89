"""Per-step cost of fitting P patch networks: one network at a time (the reference DGP's structure)
against `BatchedMLP` (all at once), plus the cost of the OT matching.

    .venv/bin/python benchmarks/speed.py [--threads 1] [--patches 64,256,1024] [--points 256]

Both fit the same patches with the same widths and Adam; each timing is the median of
``--repeat`` steps after a warm-up step, under the same fixed thread count. Writes
benchmarks/results/speed.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._util import write_atomic  # noqa: E402


def _median_step(step, repeat):
    step()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--patches", default="64,256,1024")
    ap.add_argument("--points", type=int, default=256)
    ap.add_argument("--widths", default="2,128,128,3")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "speed.md"))
    args = ap.parse_args(argv)

    import torch

    from dgp.coordmlp import BatchedMLP
    from dgp.matching import emd_assignment

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    widths = tuple(int(w) for w in args.widths.split(","))
    K = args.points
    print(f"seed {args.seed}, {args.threads} thread(s), widths {widths}, {K} points per patch")
    rows = []
    for P in (int(p) for p in args.patches.split(",")):
        uv = torch.rand(P, K, 2)
        target = torch.rand(P, K, 3)
        batched = BatchedMLP(P, widths, seed=args.seed)
        opt = torch.optim.Adam(batched.parameters(), lr=1e-3)

        def batched_step():
            loss = ((batched(uv) - target) ** 2).sum(-1).mean(1).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()

        nets = [batched.to_sequential(p) for p in range(P)]
        opts = [torch.optim.Adam(n.parameters(), lr=1e-3) for n in nets]

        def loop_step():
            for p, (net, o) in enumerate(zip(nets, opts)):
                loss = ((net(uv[p]) - target[p]) ** 2).sum(-1).mean()
                o.zero_grad()
                loss.backward()
                o.step()

        tb = _median_step(batched_step, args.repeat)
        tl = _median_step(loop_step, max(1, args.repeat // 2))
        rng = np.random.default_rng(args.seed)
        a, b = rng.normal(size=(K, 3)), rng.normal(size=(K, 3))
        emd_assignment(a, b)  # warm-up (imports POT)
        t = time.perf_counter()
        for _ in range(20):
            emd_assignment(a, b)
        tm = (time.perf_counter() - t) / 20 * P
        rows.append((P, tl, tb, tl / tb, tm))
        print(f"P={P}: loop {tl:.3f} s/step, batched {tb:.3f} s/step, ratio {tl / tb:.1f}x, one matching of all patches {tm:.2f} s")
    lines = [
        "# Batched per-patch networks against one network at a time",
        "",
        f"Made by `.venv/bin/python benchmarks/speed.py --threads {args.threads} --patches {args.patches} "
        f"--points {K}` (CPU, {args.threads} thread(s); widths {'-'.join(map(str, widths))}; "
        f"median of {args.repeat} steps).",
        "",
        "| patches | loop s/step | batched s/step | speed-up | one EMD matching of all patches (s) | matching every 50 steps, share of time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for P, tl, tb, r, tm in rows:
        share = (tm / 50) / (tm / 50 + tb)
        lines.append(f"| {P} | {tl:.3f} | {tb:.3f} | {r:.1f}× | {tm:.2f} | {100 * share:.0f}% |")
    text = "\n".join(lines) + "\n"
    write_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
