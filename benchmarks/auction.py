"""The batched auction (``--matching auction``) against the exact matching on the CPU: is it worth it?

The exact matching (`dgp.matching.match`, scipy's ``linear_sum_assignment`` per patch) runs on
the CPU one patch at a time; on a GPU the networks are hundreds of times faster than their
matching. A candidate to move the matching onto the device is Bertsekas' auction with
ε-scaling, every patch of a chunk at once (Jacobi bidding: all unassigned samples bid in one
tensor operation; padded rows and columns are matched among themselves, so they never take a
real point). This script measures it against the exact matching on the same random patches:
the time, the rounds of bidding, and how far its total cost lands above the optimum (its
final ε bounds the gap by K·ε of each patch's largest cost). Writes
benchmarks/results/auction_<device>.md.

    python benchmarks/auction.py --device cpu --patches 256 --points 64,256
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dgp.matching import auction  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--patches", type=int, default=256)
    ap.add_argument("--points", default="64,256", help="comma-separated patch sizes K")
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    print(f"seed {args.seed}", flush=True)

    import torch

    from dgp.matching import match
    from dgp.util import write_text

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    rows = []
    for K in [int(k) for k in args.points.split(",")]:
        B = args.patches
        # a chart's samples against its patch's points: a noisy, shuffled copy, patches of K/2..K points
        x = rng.normal(size=(B, K, 3))
        y = (x + 0.1 * rng.normal(size=x.shape))[:, rng.permutation(K)]
        counts = rng.integers(K // 2, K + 1, size=B)
        counts[0] = K
        cost = ((x[:, :, None] - y[:, None]) ** 2).sum(-1)
        match(x[:2], y[:2], counts[:2], "lsa", workers=args.threads)  # warm-up (the thread pool)
        t = time.perf_counter()
        exact = match(x, y, counts, "lsa", workers=args.threads).index
        t_lsa = time.perf_counter() - t
        c = torch.as_tensor(cost, dtype=torch.float32, device=args.device)
        auction(c[:2], counts[:2], args.eps)  # warm-up (kernels, allocator)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        index, rounds = auction(c, counts, args.eps)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t_auc = time.perf_counter() - t
        index = index.cpu().numpy()
        gaps, same, padded_ok = [], 0, True
        for b in range(B):
            n = counts[b]
            opt = cost[b, np.arange(n), exact[b, :n]].sum()
            got = cost[b, np.arange(n), index[b, :n]].sum()
            gaps.append(got / opt - 1)
            same += bool(np.array_equal(exact[b, :n], index[b, :n]))
            padded_ok &= bool((index[b, :n] < n).all() and (index[b, n:] >= n).all())
        rows.append((B, K, t_lsa, t_auc, rounds, float(np.mean(gaps)), float(np.max(gaps)), same, padded_ok))
        print(rows[-1], flush=True)
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"auction_{args.device.split(':')[0]}.md")
    lines = [
        "# Batched auction against the exact matching",
        "",
        f"Written by `python benchmarks/auction.py --device {args.device} --patches {args.patches} --points "
        f"{args.points} --eps {args.eps:g} --threads {args.threads}` on {time.strftime('%Y-%m-%d')}. Random patches "
        "(a shuffled noisy copy of K Gaussian points, K/2 to K of them real, the rest padding); the exact matching "
        f"is `dgp.matching.match(..., 'lsa')` on {args.threads} CPU threads; the auction runs on {args.device}, all "
        "patches at once. Gap: the auction's total squared distance over the optimum's, minus 1.",
        "",
        "| patches | K | exact (lsa) s | auction s | auction / exact | rounds | mean gap | max gap | "
        "same matching | padding kept apart |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for B, K, tl, ta, r, mg, xg, same, ok in rows:
        lines.append(
            f"| {B} | {K} | {tl:.3f} | {ta:.3f} | {ta / tl:.1f}x | {r} | {mg:.1e} | {xg:.1e} | {same}/{B} | "
            f"{'yes' if ok else 'NO'} |"
        )
    lines.append("")
    write_text(out, "\n".join(lines))  # atomically, its folder made
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
