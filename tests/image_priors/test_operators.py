"""Tests of `image_priors.operators`."""

import pytest
import torch

from image_priors.operators import (
    Compose,
    Crop,
    Downsample,
    GaussianSensing,
    Identity,
    Mask,
    StructuredSensing,
    add_noise,
    back_project,
    check_adjoint,
    measurements_per_channel,
)

OPERATORS = [
    (Identity(), (2, 3, 16, 16)),
    (Mask.random((16, 16), 0.5, seed=1), (2, 3, 16, 16)),
    (GaussianSensing((3, 8, 8), 0.25, seed=2), (2, 3, 8, 8)),
    (StructuredSensing((3, 16, 24), 0.3, seed=3), (2, 3, 16, 24)),
    (Crop(10, 12, 16, 16), (2, 3, 16, 16)),
] + [(Downsample(f, k), (2, 3, 32, 48)) for f in (2, 4, 8) for k in ("lanczos", "bicubic")]


@pytest.mark.parametrize("op, shape", OPERATORS, ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else "")
def test_adjointness(op, shape):
    for seed in range(3):
        assert check_adjoint(op, shape, seed=seed) < 1e-12


def test_compose_adjoint():
    op = Compose(Downsample(2), Crop(16, 16, 32, 32))
    assert check_adjoint(op, (1, 3, 32, 32)) < 1e-12


def test_structured_sensing_rows_orthonormal():
    op = StructuredSensing((2, 8, 8), 0.4, seed=0, dtype=torch.float64)
    eye = torch.eye(op.m, dtype=torch.float64)
    A = op.adjoint(eye).reshape(op.m, -1)  # rows of A
    torch.testing.assert_close(A @ A.T, eye, atol=1e-12, rtol=0)


def test_gaussian_sensing_scale():
    op = GaussianSensing((1, 16, 16), 0.5, seed=0)
    assert op.A.shape == (128, 256)
    assert abs(float(op.A.var()) * op.m - 1) < 0.05  # entries N(0, 1/m)


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("kind", ["lanczos", "bicubic"])
def test_downsample_constant(factor, kind):
    y = Downsample(factor, kind)(torch.full((1, 3, 32, 32), 0.3))
    assert y.shape == (1, 3, 32 // factor, 32 // factor)
    torch.testing.assert_close(y, torch.full_like(y, 0.3))


def test_mask_and_noise():
    m = Mask.random((100, 100), 0.3, seed=0)
    assert abs(float(m.mask.mean()) - 0.7) < 0.03
    x = torch.zeros(1, 3, 50, 50)
    n = add_noise(x, 25, seed=0)
    assert abs(float(n.std()) - 25 / 255) < 0.005
    assert torch.equal(n, add_noise(x, 25, seed=0))


@pytest.mark.parametrize(
    "op, shape, expected",
    [
        (Identity(), (3, 16, 24), 16 * 24),
        (Mask(torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])), (3, 2, 3), 3),
        (Downsample(4), (3, 32, 48), 8 * 12),
        (GaussianSensing((3, 8, 8), 0.25, seed=0), (3, 8, 8), 48 / 3),
        (StructuredSensing((1, 16, 16), 0.25, seed=0), (1, 16, 16), 64),
        (Compose(Downsample(2), Crop(8, 8, 16, 16)), (3, 16, 16), 16),
    ],
    ids=["identity", "mask", "downsample", "gaussian", "structured", "compose"],
)
def test_measurements_per_channel(op, shape, expected):
    assert measurements_per_channel(op, shape) == expected


@pytest.mark.parametrize("op, shape", OPERATORS, ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else "")
def test_pinv_is_the_least_norm_solution(op, shape):
    """A A⁺ r = r for r in the range of A, and A⁺ r lies in the row space (A⁺ A A⁺ r = A⁺ r): the
    two properties that make it the pseudo-inverse, checked in float64."""
    op = op.double()
    gen = torch.Generator().manual_seed(0)
    r = op(torch.randn(shape, generator=gen, dtype=torch.float64))
    x = op.pinv(r, iters=200, tol=1e-12)
    torch.testing.assert_close(op(x), r, atol=1e-8, rtol=0)
    torch.testing.assert_close(op.pinv(op(x), iters=200, tol=1e-12), x, atol=1e-8, rtol=0)


def test_back_projection_keeps_the_known_pixels_and_reproduces_the_low_resolution_input():
    gen = torch.Generator().manual_seed(1)
    truth, guess = torch.rand(1, 3, 32, 32, generator=gen), torch.rand(1, 3, 32, 32, generator=gen)
    mask = Mask.random((32, 32), 0.5, seed=2)
    out = back_project(mask, guess, mask(truth))
    known = mask.mask.expand_as(truth) > 0
    assert torch.equal(out[known], truth[known]) and torch.equal(out[~known], guess[~known])
    down = Downsample(4)
    out = back_project(down, guess, down(truth))
    assert float((down(out) - down(truth)).abs().max()) < 1e-4
    # the correction is the smallest one that does it: nothing is added that A cannot see
    delta = (out - guess).double()
    assert float((down.double().pinv(down.double()(delta)) - delta).abs().max()) < 1e-4
    # orthonormal-row sensing: A A^T = I, so A⁺ = A^T and the back-projection meets y exactly
    cs = StructuredSensing((3, 32, 32), 0.25, seed=3)
    out = back_project(cs, guess, cs(truth))
    assert float((cs(out) - cs(truth)).abs().max()) < 1e-5


def test_blend_weight_recovers_the_mixture_that_made_the_held_pixels():
    import numpy as np

    from image_priors.classical import blend_weight, split_known

    rng = np.random.default_rng(0)
    a, b = rng.random((2, 3, 16, 16))
    known = rng.random((16, 16)) < 0.5
    fit, held = split_known(known, 0.2, seed=1)
    assert not (fit & held).any() and ((fit | held) == known).all() and held.sum() == round(0.2 * known.sum())
    assert abs(blend_weight(a, b, 0.7 * a + 0.3 * b, held) - 0.3) < 1e-9
    assert blend_weight(a, b, 2 * b - a, held) == 1.0  # clipped to [0, 1]
