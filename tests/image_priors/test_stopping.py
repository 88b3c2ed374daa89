"""Tests of `image_priors.stopping`."""

import numpy as np
import pytest

from image_priors.stopping import Discrepancy, FixedBudget, HeldOut, VarianceWindow, make_rule


def test_fixed_rule_runs_budget():
    r = FixedBudget()
    assert not any(r.update(i, None, 1.0 / (i + 1)) for i in range(50)) and r.chosen == 49


def test_discrepancy_stops_at_noise_level():
    r = Discrepancy(sigma=0.1)
    losses = 0.005 + 0.2 * np.exp(-np.arange(100) / 10)  # crosses 0.01 near step 30
    stop = next(i for i, loss in enumerate(losses) if r.update(i, None, loss))
    assert stop == int(np.argmax(losses <= 0.01))


def test_heldout_stops_after_minimum():
    r = HeldOut(patience=20)
    held = (np.arange(200) - 60.0) ** 2  # minimum at step 60
    stop = next(i for i, h in enumerate(held) if r.update(i, None, 0.0, h))
    assert r.chosen == 60 and stop == 80


def test_variance_rule_finds_minimum_variance():
    rng = np.random.default_rng(0)
    r = VarianceWindow(window=10, patience=30)
    # outputs whose step-to-step fluctuation shrinks until step 100, then grows (fitting noise)
    amp = np.abs(np.arange(300) - 100) / 100 + 0.01
    stop = None
    for i in range(300):
        if r.update(i, amp[i] * rng.normal(size=50), 0.0):
            stop = i
            break
    assert stop is not None and abs(r.chosen - 100) <= 10 and stop < 160


def test_variance_or_discrepancy_returns_the_choice_of_the_rule_that_stops_first():
    rng = np.random.default_rng(0)
    amp = np.abs(np.arange(300) - 100) / 100 + 0.01  # as above: the variance rule stops after step 100

    def run(loss_at_noise_level):
        r = make_rule("variance-or-discrepancy", sigma=1.0, tau=1.0, window=10, patience=30)
        for i in range(300):
            if r.update(i, amp[i] * rng.normal(size=50), 2.0 if i < loss_at_noise_level else 0.5):
                return i, r.chosen

    stop, chosen = run(loss_at_noise_level=60)  # the residual reaches the noise level first
    assert (stop, chosen) == (60, 60)
    stop, chosen = run(loss_at_noise_level=250)  # the variance rule stops first, at its minimum
    assert stop < 160 and abs(chosen - 100) <= 10


def test_make_rule_errors():
    with pytest.raises(ValueError, match="sigma"):
        make_rule("discrepancy")
    with pytest.raises(ValueError, match="sigma"):
        make_rule("variance-or-discrepancy")
    with pytest.raises(ValueError):
        make_rule("magic")


@pytest.mark.parametrize("sigma", [0.03, 0.1])
def test_estimate_sigma_reads_known_noise(sigma):
    from image_priors.stopping import estimate_sigma

    # a smooth colour image with edges: the estimate is of the noise, not of the image
    u, v = np.meshgrid(np.linspace(0, 1, 96), np.linspace(0, 1, 96))
    clean = np.stack([0.5 + 0.3 * np.sin(3 * u), 0.4 + 0.3 * v, 0.2 + 0.5 * (u + v > 1)])
    noisy = clean + np.random.default_rng(1).normal(0, sigma, clean.shape)
    assert abs(estimate_sigma(noisy) / sigma - 1) < 0.1
    assert estimate_sigma(clean) < 0.2 * sigma  # a noise-free image reads (nearly) no noise
    with pytest.raises(ValueError, match="C, H, W"):
        estimate_sigma(noisy[0])
