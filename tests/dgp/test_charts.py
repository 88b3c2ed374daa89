"""Tests of `dgp.charts.ChartState`: the one owner of the chart weights."""

import numpy as np
import torch

from dgp.charts import ChartState
from dgp.coordmlp import BatchedMLP


def test_blank_is_the_seeded_network():
    charts = ChartState.blank(5, K=7, widths=(2, 16, 3), seed=3)
    net = BatchedMLP(5, (2, 16, 3), seed=3)
    uv = torch.rand(5, 9, 2)
    torch.testing.assert_close(charts.evaluate(uv), net(uv).detach(), rtol=0, atol=0)
    assert np.array_equal(charts.match, np.tile(np.arange(7), (5, 1))) and not charts.stopped_at.any()


def test_rows_and_assign_round_trip():
    charts = ChartState.blank(6, K=4, widths=(2, 8, 3), seed=0)
    part = ChartState.blank(2, K=3, widths=(2, 8, 3), seed=1)
    part.match[:] = [[2, 0, 1], [1, 2, 0]]
    part.stopped_at[:] = [11, 12]
    idx = np.array([4, 1])
    before = charts.rows(np.array([0, 2, 3, 5]))
    charts.assign(idx, part)
    got = charts.rows(idx, k=3)
    for a, b in zip(got.weights + got.biases, part.weights + part.biases):
        assert torch.equal(a, b)
    assert np.array_equal(got.match, part.match) and np.array_equal(got.stopped_at, [11, 12])
    assert np.array_equal(charts.match[idx, 3], [3, 3])  # columns past the part's K are left alone
    after = charts.rows(np.array([0, 2, 3, 5]))
    assert all(torch.equal(a, b) for a, b in zip(before.weights, after.weights))  # other rows untouched


def test_network_of_a_subset_is_those_charts():
    charts = ChartState.blank(4, K=2, widths=(2, 8, 8, 3), seed=5)
    uv = torch.rand(4, 6, 2)
    full = charts.evaluate(uv)
    mask = np.array([False, True, False, True])
    torch.testing.assert_close(charts.evaluate(uv[mask], mask), full[mask], rtol=0, atol=0)
    assert charts.network(mask).n_models == 2 and charts.widths == (2, 8, 8, 3)
    assert not any(p.requires_grad for p in charts.network().parameters())
