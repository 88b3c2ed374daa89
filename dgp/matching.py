"""Optimal-transport correspondence between chart samples φ_p(uv) and a patch's points (POT).

Exact: ``ot.emd`` with unit masses and squared Euclidean cost; between two sets of equal size
the optimal plan is a permutation, returned as an index array. That makes the exact EMD an
assignment problem, which ``scipy.optimize.linear_sum_assignment`` solves 2-4× faster on
patches of 32 to a few hundred points (method ``"lsa"``: the same optimal matching; only where two
matchings tie exactly may the two solvers pick different ones). Sinkhorn (``ot.sinkhorn``) is an
option; its plan is turned into targets by barycentric projection.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(50, 3))
>>> bool((emd_assignment(x, x) == np.arange(50)).all())
True
"""

from __future__ import annotations

import numpy as np

MATCHING_METHODS = ("emd", "lsa", "sinkhorn")
#: The exact solvers: POT's network simplex and scipy's linear assignment.
EXACT_METHODS = ("emd", "lsa")


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


def emd_assignment(pred: np.ndarray, points: np.ndarray, method: str = "emd") -> np.ndarray:
    """Exact OT matching of equal-size sets.

    Parameters
    ----------
    pred : (n, 3) chart samples φ(uv_i)
    points : (n, 3) the patch's points
    method : "emd" (POT's ``ot.emd``) or "lsa" (scipy's ``linear_sum_assignment``, faster):
        both return a matching of least total squared distance

    Returns
    -------
    (n,) int: ``match[i]`` is the point that sample i is transported to (a permutation).

    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(size=(40, 3))
    >>> bool((emd_assignment(x, x[::-1], "lsa") == np.arange(40)[::-1]).all())
    True
    """
    _check_exact(method)
    n = len(pred)
    if len(points) != n:
        raise ValueError(f"emd_assignment needs equal sizes, got {n} and {len(points)}")
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


def emd_assignments(
    pred: np.ndarray, points: np.ndarray, counts: np.ndarray, workers: int | None = None, method: str = "emd"
) -> np.ndarray:
    """`emd_assignment` for every patch of a padded batch, spread over ``workers`` threads.

    Parameters
    ----------
    pred : (P, K, 3) chart samples; points : (P, K, 3) patch points; counts : (P,) valid rows.
    workers : threads (both solvers run without the GIL); default: torch's thread count, which
        the fit leaves idle while it matches.
    method : "emd" or "lsa", as in `emd_assignment`.

    Returns
    -------
    (P, K) int: per patch, the matched row for every valid sample; padded rows map to themselves.
    The result does not depend on ``workers``.
    """
    P, K = pred.shape[:2]
    out = np.tile(np.arange(K), (P, 1))
    if workers is None:
        import torch

        workers = torch.get_num_threads()

    def one(p):
        n = int(counts[p])
        if n:
            out[p, :n] = emd_assignment(pred[p, :n], points[p, :n], method)

    _check_exact(method)
    if workers <= 1 or P < 2:
        for p in range(P):
            one(p)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(P)))
    return out


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


def match_batch(
    pred: np.ndarray, points: np.ndarray, counts: np.ndarray, method: str = "emd", reg: float = 1e-3
) -> np.ndarray:
    """Match every patch of a padded batch.

    Parameters
    ----------
    pred : (P, K, 3) chart samples; only the first ``counts[p]`` rows of patch p are real.
    points : (P, K, 3) patch points, padded the same way.
    counts : (P,) int, valid rows per patch; padded rows carry no mass.
    method : "emd", "lsa" or "sinkhorn".

    Returns
    -------
    (P, K, 3) float targets: for each real sample, its matched point (emd, lsa) or barycentric target
    (sinkhorn); padded rows are zero.
    """
    if method not in MATCHING_METHODS:
        raise ValueError(f"unknown matching method {method!r}; choose from {MATCHING_METHODS}")
    out = np.zeros_like(points, dtype=np.float64)
    for p, n in enumerate(np.asarray(counts)):
        n = int(n)
        if n == 0:
            continue
        if method in EXACT_METHODS:
            out[p, :n] = points[p, :n][emd_assignment(pred[p, :n], points[p, :n], method)]
        else:
            out[p, :n] = sinkhorn_targets(pred[p, :n], points[p, :n], reg)
    return out
