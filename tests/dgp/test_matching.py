"""Tests of `dgp.matching`."""

import numpy as np
import pytest
import torch

from dgp.fit import ChartFitConfig, fit_local
from dgp.matching import assignment, match, sinkhorn_targets
from dgp.patches import make_patches


def test_emd_identity_and_permutation(rng):
    x = rng.normal(size=(80, 3))
    assert np.array_equal(assignment(x, x), np.arange(80))
    perm = rng.permutation(80)
    assert np.array_equal(x[perm][assignment(x, x[perm])], x)


def test_batched_emd_equals_per_patch_loop(rng):
    counts = np.array([30, 0, 17, 30])
    pred, pts = rng.normal(size=(4, 30, 3)), rng.normal(size=(4, 30, 3))
    serial = match(pred, pts, counts, workers=1).index
    assert np.array_equal(serial, match(pred, pts, counts, workers=2).index)
    for p, n in enumerate(counts):
        assert np.array_equal(serial[p, :n], assignment(pred[p, :n], pts[p, :n]))
        assert np.array_equal(serial[p, n:], np.arange(n, 30))  # padding maps to itself


def test_emd_matches_brute_force_optimum(rng):
    from itertools import permutations

    a, b = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    cost = lambda p: ((a - b[list(p)]) ** 2).sum()  # noqa: E731
    best = min(cost(p) for p in permutations(range(6)))
    assert np.isclose(cost(assignment(a, b)), best)


def test_lsa_is_the_emd_matching(rng):
    # generic data has one optimal matching, so both exact solvers must return it
    for n in (1, 7, 60, 250):
        a = rng.normal(size=(n, 3))
        b = rng.permutation(a + 0.1 * rng.normal(size=(n, 3)))
        assert np.array_equal(assignment(a, b, "lsa"), assignment(a, b, "emd"))
    counts = np.array([30, 0, 17, 30])
    pred, pts = rng.normal(size=(4, 30, 3)), rng.normal(size=(4, 30, 3))
    assert np.array_equal(match(pred, pts, counts, "lsa", workers=2).index, match(pred, pts, counts, workers=1).index)
    np.testing.assert_array_equal(match(pred, pts, counts, "lsa").targets, match(pred, pts, counts, "emd").targets)
    with pytest.raises(ValueError, match="exact matching"):
        assignment(a, b, "hungarian")


def test_fit_with_lsa_is_the_fit_with_emd(rng):
    # the same matchings at every re-match, so the same charts bit for bit
    d = rng.normal(size=(1500, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    pts = d + 0.01 * rng.normal(size=d.shape)
    p = make_patches(pts, d, radius=0.4, padding=1.5, min_points=10, seed=0)
    local, nloc = p.to_local(pts), p.directions_to_local(d)
    sigma = np.full(len(p), 0.01) / p.scale
    states = [
        fit_local(
            p.uv,
            local,
            p.mask,
            sigma,
            ChartFitConfig(widths=(2, 16, 16, 3), local_steps=60, match_every=15, matching=m),
            seed=0,
            normals=nloc,
        )
        for m in ("emd", "lsa")
    ]
    assert np.array_equal(states[0].match, states[1].match)
    for a, b in zip(states[0].weights, states[1].weights):
        assert torch.equal(a, b)


def test_sinkhorn_close_to_emd_for_small_reg(rng):
    x = rng.normal(size=(40, 3))
    y = x + 0.01 * rng.normal(size=(40, 3))
    t = sinkhorn_targets(x, y, reg=2e-3)
    assert np.abs(t - y[assignment(x, y)]).max() < 0.05


def test_match_padding_has_no_mass(rng):
    pts = np.zeros((2, 10, 3))
    pts[0, :6] = rng.normal(size=(6, 3))
    pts[1, :10] = rng.normal(size=(10, 3))
    for method in ("emd", "sinkhorn"):
        out = match(pts, pts, np.array([6, 10]), method, reg=1e-3).targets
        np.testing.assert_allclose(out[0, :6], pts[0, :6], atol=1e-3)
        assert np.all(out[0, 6:] == 0)
    with pytest.raises(ValueError, match="unknown matching method"):
        match(pts, pts, np.array([6, 10]), "hungarian")


def test_auction_lands_within_its_bound_and_keeps_padding_apart(rng):
    from scipy.optimize import linear_sum_assignment

    from dgp.matching import auction

    B, K, eps = 12, 20, 1e-5
    x = rng.normal(size=(B, K, 3))
    cost = ((x[:, :, None] - rng.normal(size=(B, K, 3))[:, None]) ** 2).sum(-1)
    counts = rng.integers(1, K + 1, size=B)
    index, rounds = auction(torch.as_tensor(cost), counts, eps)
    assert rounds > 0
    one, _ = auction(torch.ones(3, 1, 1), [1, 0, 1])  # a single row and column: nothing to bid for
    assert one.tolist() == [[0], [0], [0]]
    for b, n in enumerate(counts):
        got = index[b].numpy()
        assert sorted(got[:n]) == list(range(n)) and sorted(got[n:]) == list(range(n, K))
        r, c = linear_sum_assignment(cost[b, :n, :n])
        # the auction's ε bound: at most n·ε of the largest cost above the optimum
        assert cost[b, np.arange(n), got[:n]].sum() <= cost[b, r, c].sum() + n * eps * cost[b].max() + 1e-9


def test_match_by_auction_is_the_exact_matching_when_it_is_clear(rng):
    # a noisy shuffled copy: one optimum, far ahead of the next best, which the auction must find
    counts = np.array([40, 0, 1, 23, 40])
    pred = rng.normal(size=(5, 40, 3))
    pts = np.zeros_like(pred)
    for p, n in enumerate(counts):
        pts[p, :n] = rng.permutation(pred[p, :n] + 1e-3 * rng.normal(size=(n, 3)))
    got = match(pred, pts, counts, "auction")
    want = match(pred, pts, counts, "lsa")
    np.testing.assert_array_equal(got.index, want.index)  # padded rows to themselves, as the exact methods
    np.testing.assert_array_equal(got.targets, want.targets)  # padded rows carry no mass (zero)
    # tensors in, the same answer (the fit passes its device tensors)
    t = match(torch.as_tensor(pred, dtype=torch.float32), torch.as_tensor(pts, dtype=torch.float32), counts, "auction")
    np.testing.assert_array_equal(t.index, want.index)


def test_fit_with_the_auction_lands_where_the_exact_fit_does(rng):
    d = rng.normal(size=(600, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    pts = d + 0.01 * rng.normal(size=d.shape)
    p = make_patches(pts, d, radius=0.5, padding=1.5, min_points=10, max_points=60, seed=0)
    local = p.to_local(pts)
    sigma = np.full(len(p), 0.01) / p.scale

    def fit(method):
        cfg = ChartFitConfig(widths=(2, 16, 16, 3), local_steps=30, match_every=10, matching=method, stop="fixed")
        return fit_local(p.uv, local, p.mask, sigma, cfg, seed=0)

    exact, auc, again = fit("lsa"), fit("auction"), fit("auction")
    for a, b in zip(auc.weights, again.weights):  # the same seed, the same charts
        assert torch.equal(a, b)
    m = p.mask.astype(bool)
    assert (auc.match[~m] == np.broadcast_to(np.arange(m.shape[1]), m.shape)[~m]).all()  # padding apart
    agree = (auc.match == exact.match)[m].mean()
    assert agree > 0.95, agree
