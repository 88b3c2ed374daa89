"""Optimal-transport correspondence between chart samples φ_p(uv) and a patch's points (POT).

Exact: ``ot.emd`` with unit masses and squared Euclidean cost; between two sets of equal size
the optimal plan is a permutation, returned as an index array. That makes the exact EMD an
assignment problem, which ``scipy.optimize.linear_sum_assignment`` also solves, faster on
patches of 32 to a few hundred points (method ``"lsa"``: the same optimal matching; only where two
matchings tie exactly may the two solvers pick different ones). Sinkhorn (``ot.sinkhorn``) is an
option; its plan is turned into targets by barycentric projection.

``"auction"`` solves every patch of the batch at once with torch, on the device the networks run
on (`auction`: Bertsekas' auction with ε-scaling). It is near-exact: each patch's total cost is
within ``n · AUCTION_EPS`` of its largest squared distance above the optimum (measured gaps:
benchmarks/results/auction_cpu.md). On the CPU it is slower than ``"lsa"``; it is there for GPUs.

One entry point, in the style of POT's function-first API: ``match(pred, points, counts,
method)`` matches every patch of a padded batch and returns a `Matching` (the matched row per
sample for the exact methods, and the target per sample for all). `assignment` is the exact
matching of one pair of equal-size sets.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(2, 50, 3))
>>> m = match(x, x, np.array([50, 30]))
>>> bool((m.index == np.arange(50)).all()), bool(np.allclose(m.targets[1, :30], x[1, :30]))
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MATCHING_METHODS = ("emd", "lsa", "sinkhorn", "auction")
#: The exact solvers: POT's network simplex and scipy's linear assignment.
EXACT_METHODS = ("emd", "lsa")
#: the auction's final ε, relative to each patch's largest squared distance: the total cost lands at
#: most n·ε (times that distance) above the optimum
AUCTION_EPS = 1e-5


def _check_exact(method: str) -> None:
    if method not in EXACT_METHODS:
        raise ValueError(f"unknown exact matching method {method!r}; choose from {EXACT_METHODS}")


def _ot():
    try:
        import ot
    except ImportError as exc:  # pragma: no cover
        raise ImportError("POT is needed for the optimal-transport matching: pip install pot") from exc
    return ot


def sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(n, m)`` between ``a: (n, d)`` and ``b: (m, d)``."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def assignment(pred: np.ndarray, points: np.ndarray, method: str = "emd") -> np.ndarray:
    """Exact OT matching of two equal-size sets with unit masses and squared Euclidean cost.

    Parameters
    ----------
    pred : (n, 3) chart samples φ(uv_i)
    points : (n, 3) the patch's points
    method : "emd" (POT's network simplex ``ot.emd``) or "lsa" (scipy's ``linear_sum_assignment``,
        faster): both return a matching of least total squared distance

    Returns
    -------
    (n,) int: ``match[i]`` is the point that sample i is transported to (a permutation).

    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(size=(40, 3))
    >>> bool((assignment(x, x[::-1], "lsa") == np.arange(40)[::-1]).all())
    True
    """
    _check_exact(method)
    n = len(pred)
    if len(points) != n:
        raise ValueError(f"assignment needs equal sizes, got {n} and {len(points)}")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cost = sqdist(np.asarray(pred, np.float64), np.asarray(points, np.float64))
    if method == "lsa":
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        return cols[np.argsort(rows)].astype(np.int64)
    ot = _ot()
    w = np.full(n, 1.0 / n)
    plan = ot.emd(w, w, cost, numItermax=1_000_000)
    return np.argmax(plan, axis=1)


def sinkhorn_targets(pred: np.ndarray, points: np.ndarray, reg: float = 1e-3) -> np.ndarray:
    """Entropic OT: barycentric targets ``(n, 3)`` for the samples ``pred: (n, 3)``.

    ``reg`` is relative to the largest squared distance in the patch.
    """
    ot = _ot()
    n, m = len(pred), len(points)
    cost = sqdist(np.asarray(pred, np.float64), np.asarray(points, np.float64))
    scale = cost.max() if cost.size and cost.max() > 0 else 1.0
    plan = ot.sinkhorn(
        np.full(n, 1.0 / n),
        np.full(m, 1.0 / m),
        cost / scale,
        reg,
        method="sinkhorn_stabilized",
        numItermax=5000,
        stopThr=1e-6,
    )
    return (plan @ np.asarray(points, np.float64)) / np.maximum(plan.sum(1, keepdims=True), 1e-300)


def auction(cost, counts, eps: float = AUCTION_EPS, eps0: float = 0.05, scale: float = 4.0):
    """Least-cost assignment of every problem of a padded batch at once: Bertsekas' auction with
    Jacobi bidding (all unassigned rows bid in one tensor operation) and ε-scaling.

    Parameters
    ----------
    cost : (B, K, K) float tensor on any device; only the first ``counts[b]`` rows and columns of
        problem b are real
    counts : (B,) ints (array or tensor)
    eps : the final ε, relative to each problem's largest cost; eps0, scale : the first ε and its divisor

    Returns
    -------
    (index, rounds): index (B, K) long tensor on ``cost``'s device, row i of problem b goes to
    column ``index[b, i]``; a real row always to a real column, a padded row to a padded one (a real
    row would pay more for a padded column than for any real one). rounds: the bidding rounds run.

    >>> import torch
    >>> c = torch.tensor([[[5.0, 0.0, 7.0], [0.0, 5.0, 7.0], [7.0, 7.0, 7.0]]])
    >>> index, _ = auction(c, [2])  # the third row and column are padding
    >>> index.tolist()
    [[1, 0, 2]]
    """
    import torch

    B, K, _ = cost.shape
    dev = cost.device
    if K == 1:  # one row and one column: nothing to bid for (and topk(2) needs two columns)
        return torch.zeros((B, 1), device=dev, dtype=torch.long), 0
    counts = torch.as_tensor(np.asarray(counts), device=dev)
    real = torch.arange(K, device=dev)[None, :] < counts[:, None]
    big = cost.amax(dim=(1, 2)).clamp(min=1e-30)
    benefit = -(cost / big[:, None, None])  # in [-1, 0]
    both = real[:, :, None] & real[:, None, :]
    pad = ~real[:, :, None] & ~real[:, None, :]
    zero = torch.zeros((), device=dev, dtype=benefit.dtype)
    far = torch.full((), -4.0, device=dev, dtype=benefit.dtype)  # a real-padded pair: worse than any real one
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


def _auction_index(pred, points, counts) -> np.ndarray:
    """`auction` of squared distances, on the device ``pred`` lives on (a tensor) or the CPU."""
    import torch

    dev = pred.device if isinstance(pred, torch.Tensor) else torch.device("cpu")
    a = torch.as_tensor(pred, device=dev).double() if dev.type == "cpu" else torch.as_tensor(pred, device=dev)
    b = torch.as_tensor(points, device=dev, dtype=a.dtype)
    with torch.no_grad():
        cost = ((a * a).sum(-1)[:, :, None] + (b * b).sum(-1)[:, None, :] - 2.0 * a @ b.transpose(1, 2)).clamp(min=0)
    return auction(cost, counts)[0].cpu().numpy()


@dataclass
class Matching:
    """The result of `match` on a padded batch of P patches of K rows.

    index : (P, K) int or None: for the exact methods and the auction, the matched row of every real sample;
        padded rows map to themselves. None for Sinkhorn, whose targets are not points.
    targets : (P, K, 3) float64: the matched point (exact) or barycentric target (Sinkhorn) of
        every real sample; padded rows are zero (they carry no mass).
    """

    index: np.ndarray | None
    targets: np.ndarray


def match(
    pred: np.ndarray,
    points: np.ndarray,
    counts: np.ndarray,
    method: str = "emd",
    reg: float = 1e-2,
    workers: int | None = None,
) -> Matching:
    """Match the chart samples of every patch of a padded batch to the patch's points.

    Parameters
    ----------
    pred : (P, K, 3) chart samples; only the first ``counts[p]`` rows of patch p are real
    points : (P, K, 3) patch points, padded the same way
    counts : (P,) int, real rows per patch; padded rows carry no mass
    method : "emd", "lsa" (exact, `assignment`), "sinkhorn" (entropic, `sinkhorn_targets`) or
        "auction" (near-exact, every patch at once: `auction`; ``pred`` and ``points`` may be torch
        tensors, and it runs on their device)
    reg : Sinkhorn's regularisation, relative to the patch's largest squared distance
    workers : threads the patches are spread over (the solvers run without the GIL); default:
        torch's thread count, which the fit leaves idle while it matches. The result does not
        depend on it.

    Returns
    -------
    `Matching`
    """
    if method not in MATCHING_METHODS:
        raise ValueError(f"unknown matching method {method!r}; choose from {', '.join(MATCHING_METHODS)}")
    P, K = pred.shape[:2]
    counts = np.asarray(counts)
    if method == "auction":
        index = _auction_index(pred, points, counts)
        padded = np.arange(K)[None, :] >= counts[:, None]
        index[padded] = np.broadcast_to(np.arange(K), (P, K))[padded]  # padded rows to themselves, as above
        pts = points.detach().cpu().numpy() if hasattr(points, "detach") else np.asarray(points)
        targets = np.take_along_axis(np.asarray(pts, np.float64), index[:, :, None], axis=1)
        targets[padded] = 0.0
        return Matching(index, targets)
    exact = method in EXACT_METHODS
    index = np.tile(np.arange(K), (P, 1)) if exact else None
    targets = np.zeros(points.shape, dtype=np.float64)
    if workers is None:
        import torch

        workers = torch.get_num_threads()

    def one(p):
        n = int(counts[p])
        if n == 0:
            return
        if exact:
            index[p, :n] = assignment(pred[p, :n], points[p, :n], method)
            targets[p, :n] = points[p, :n][index[p, :n]]
        else:
            targets[p, :n] = sinkhorn_targets(pred[p, :n], points[p, :n], reg)

    if workers <= 1 or P < 2:
        for p in range(P):
            one(p)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(P)))
    return Matching(index, targets)
