"""Tests of `dgp.surface`."""

import numpy as np

from dgp.surface import grid_faces, trim_unsupported


def test_grid_faces_cover_grid():
    f = grid_faces(4)
    assert f.shape == (18, 3) and f.max() == 15 and len(np.unique(np.sort(f, 1), axis=0)) == 18


def test_trim_unsupported_removes_far_vertices():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5.0]])
    f = np.array([[0, 1, 2], [1, 2, 3]])
    v2, f2 = trim_unsupported(v, f, v[:3], 0.1)
    assert len(v2) == 3 and f2.tolist() == [[0, 1, 2]]


def test_trim_keeps_small_pockets_and_removes_large_regions():
    # a 40 x 40 grid of unit squares; samples everywhere but in a 2 x 2 gap in the middle and a
    # 12-wide band at one side: with keep_pockets the gap stays, the band goes either way
    n = 41
    x, y = np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float), indexing="ij")
    v = np.c_[x.ravel(), y.ravel(), np.zeros(n * n)]
    f = grid_faces(n)
    gap = (np.abs(v[:, 0] - 20) <= 1) & (np.abs(v[:, 1] - 20) <= 1)
    band = v[:, 0] >= 28
    samples = v[~gap & ~band]
    _, all_gone = trim_unsupported(v, f, samples, 0.5)
    _, pockets = trim_unsupported(v, f, samples, 0.5, keep_pockets=30.0)
    # every vertex of the gap and the band is further than 0.5 from the samples
    assert len(all_gone) == (~(gap | band)[f].any(1)).sum()  # both go
    assert len(pockets) == (~band[f].any(1)).sum() > len(all_gone)  # the gap (area 16 < 30) stays
    _, tiny = trim_unsupported(v, f, samples, 0.5, keep_pockets=10.0)
    assert len(tiny) == len(all_gone)  # a threshold under the gap's area removes it
