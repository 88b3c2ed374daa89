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
