"""A batched auction on the device against the exact matching on the CPU: is it worth it?

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


def auction(cost, counts, eps: float = 1e-5, eps0: float = 0.05, scale: float = 4.0):
    """Batched auction (Jacobi bidding, ε-scaling) for the least-cost assignment.

    Parameters
    ----------
    cost : (B, K, K) tensor on any device; counts : (B,) real rows and columns per problem
    eps : final ε, relative to each problem's largest cost; eps0, scale : the first ε and its divisor

    Returns
    -------
    (index (B, K) long: row i of problem b goes to column index[b, i]; padded rows to padded
    columns), rounds of bidding.

    >>> import torch
    >>> c = torch.tensor([[[5.0, 0.0, 7.0], [0.0, 5.0, 7.0], [7.0, 7.0, 7.0]]])
    >>> index, _ = auction(c, [2])  # the third row and column are padding
    >>> index.tolist()
    [[1, 0, 2]]
    """
    import torch

    B, K, _ = cost.shape
    dev = cost.device
    counts = torch.as_tensor(np.asarray(counts), device=dev)
    real = torch.arange(K, device=dev)[None, :] < counts[:, None]
    big = cost.amax(dim=(1, 2)).clamp(min=1e-30)
    benefit = -(cost / big[:, None, None])  # in [-1, 0]
    both = real[:, :, None] & real[:, None, :]
    pad = ~real[:, :, None] & ~real[:, None, :]
    zero, far = torch.zeros((), device=dev, dtype=benefit.dtype), torch.full((), -4.0, device=dev, dtype=benefit.dtype)
    flat = torch.where(both, benefit, torch.where(pad, zero, far)).reshape(B * K, K)
    prices = torch.zeros(B, K, device=dev, dtype=benefit.dtype)
    rounds, e = 0, eps0
    with torch.no_grad():
        while True:
            owner_of = torch.full((B, K), -1, device=dev, dtype=torch.long)  # column -> row
            column_of = torch.full((B, K), -1, device=dev, dtype=torch.long)  # row -> column
            while True:
                free = (column_of < 0).nonzero(as_tuple=False)
                if len(free) == 0:
                    break
                rounds += 1
                b, i = free[:, 0], free[:, 1]
                top = (flat[b * K + i] - prices[b]).topk(2, dim=1)
                j = top.indices[:, 0]
                bid = prices[b, j] + (top.values[:, 0] - top.values[:, 1]) + e
                key = b * K + j
                best = torch.full((B * K,), -float("inf"), device=dev, dtype=bid.dtype)
                best = best.scatter_reduce(0, key, bid, "amax")
                top_bidder = bid >= best[key]
                # one winner per column: the lowest row among equal bids
                who = torch.full((B * K,), K, device=dev, dtype=torch.long)
                who = who.scatter_reduce(0, key[top_bidder], i[top_bidder], "amin")
                won = top_bidder & (who[key] == i)
                gb, gi, gj = b[won], i[won], j[won]
                prev = owner_of[gb, gj]
                had = prev >= 0
                column_of[gb[had], prev[had]] = -1
                owner_of[gb, gj] = gi
                column_of[gb, gi] = gj
                prices[gb, gj] = best[gb * K + gj]
            if e <= eps:
                return column_of, rounds
            e = max(e / scale, eps)


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
