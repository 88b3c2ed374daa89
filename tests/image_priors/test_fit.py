"""Tests of `image_priors.fit`."""

import pytest
import torch

from image_priors.operators import (
    Identity,
    add_noise,
)


@pytest.mark.parametrize("prior", ["dd", "mlp"])
def test_short_fit_beats_noisy_input(prior, astronaut):
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.metrics import psnr
    from image_priors.priors import make_prior

    torch.set_num_threads(2)
    img = astronaut(32)
    y = add_noise(torch.as_tensor(img)[None], 50, seed=0)
    kw = dict(k=32, d=3) if prior == "dd" else dict(hidden=(64, 64), fourier=16, fourier_scale=3.0)
    res = fit(
        make_prior(prior, (32, 32), **kw), Identity(), y, ImageFitConfig(steps=80, ema=0.0, progress=False), truth=img
    )
    assert res.history["loss"][-1] < res.history["loss"][0]
    assert psnr(img, res.image) > psnr(img, y[0].numpy()) + 1.0


def knock(net, at: int, scale: float):
    """A `fit` callback that knocks ``net``'s weights off at step ``at`` (every weight set to
    ``scale`` times a fixed standard normal draw), as a diverging Adam step would."""

    def callback(step, out, loss):
        if step == at:
            with torch.no_grad():
                for p in net.parameters():
                    p.copy_(scale * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))

    return callback


@pytest.mark.parametrize("prior", ["dd", "mlp", "dip"])
def test_a_loss_spike_rolls_back_to_the_kept_weights(prior, astronaut):
    """Weights knocked off at step 60 (as a diverging Adam step would) are put back at the next
    step, for every prior; with the rollback off the fit is still far off at its end, 4 steps on
    (with 10 the Deep Decoder got within 2.2x in one CI run, where it recovered faster). (The Deep
    Decoder's output is bounded, so its spike is too: the knock comes late enough for the loss
    before it to be well below a random image's.)"""
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.priors import make_prior

    torch.set_num_threads(2)
    size = 64 if prior == "dip" else 32  # the skip network halves the image five times
    img = torch.as_tensor(astronaut(size))[None]

    def run(rollback):
        net = make_prior(prior, (size, size), seed=0)

        cfg = ImageFitConfig(steps=64, ema=0.0, rollback=rollback, progress=False, seed=0)
        return fit(net, Identity(), img, cfg, callback=knock(net, at=60, scale=3))

    on, off = run(3.16), run(0.0)
    assert on.history["rollbacks"] == [61] and off.history["rollbacks"] == []
    before = on.history["loss"][60]
    assert on.history["loss"][-1] < 1.5 * before  # back where it was
    assert off.history["loss"][-1] > 3 * on.history["loss"][-1]


def test_a_rollback_does_not_spike_again_on_stale_adam_moments():
    """A Deep Decoder at lr 0.01 whose weights are knocked off at step 150 (a diverging step: its
    gradient would enter Adam's moments); the rollback restores Adam's kept state and halves the
    step, so the fit recovers instead of spiking again and ending on a spike (as it did when only
    the weights went back). The test once relied on a spike this fit made by itself near step
    190; in the environment of 2026-12-07 it no longer did (cause not pinned down)."""
    from image_priors.experiments import test_image
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.priors import DeepDecoder

    torch.set_num_threads(2)
    img = torch.as_tensor(test_image(64))[None]
    cfg = ImageFitConfig(steps=200, lr=0.01, jitter=0.0, ema=0.0, progress=False, seed=0)
    net = DeepDecoder((64, 64), k=64, d=4, seed=0)
    res = fit(net, Identity(), img, cfg, callback=knock(net, at=150, scale=10))
    rb, loss = res.history["rollbacks"], res.history["loss"]
    assert 1 <= len(rb) <= 2
    assert loss[-1] < 1.2 * min(loss[: rb[0]])


def test_back_projected_fit_returns_the_known_pixels(astronaut):
    import numpy as np

    from image_priors.fit import ImageFitConfig, fit
    from image_priors.operators import Mask
    from image_priors.priors import prior_for_image

    torch.set_num_threads(2)
    truth = astronaut(32)
    op = Mask.random((32, 32), 0.5, seed=0)
    y = op(torch.as_tensor(truth)[None])
    runs = {}
    for bp in (False, True):
        net, _ = prior_for_image("dd", truth.shape, op, "inpaint", seed=0, k=8, d=3)
        cfg = ImageFitConfig(steps=20, ema=0.0, back_project=bp, progress=False)
        runs[bp] = fit(net, op, y, cfg, truth=truth)
    known = op.mask[0].expand(truth.shape).numpy() > 0
    assert np.abs(runs[True].image[known] - truth[known]).max() < 1e-6
    assert np.abs(runs[False].image[known] - truth[known]).max() > 1e-3
    # the missing pixels are the network's own, and the PSNR history follows the returned image
    np.testing.assert_allclose(runs[True].image[~known], runs[False].image[~known], atol=1e-6)
    assert runs[True].history["psnr"][-1] > runs[False].history["psnr"][-1]
