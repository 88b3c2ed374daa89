"""Tests of `image_priors.learned`: generators, their files, CSGM and IAGAN."""

import numpy as np
import pytest
import torch

from dgp.errors import InputError


def _gen(seed=0):
    from image_priors.learned import Generator

    torch.set_num_threads(2)
    return Generator(latent=8, channels=1, width=4, seed=seed).eval()


def test_generator_file_round_trip_and_bare_state_dict(tmp_path):
    from image_priors.learned import load_generator, save_generator

    g = _gen()
    w = torch.randn(3, 8)
    save_generator(tmp_path / "g.pt", g, {"data": "test"})
    h, info = load_generator(tmp_path / "g.pt")
    assert (info.latent, info.shape, info.range, info.about) == (8, (1, 32, 32), (0.0, 1.0), {"data": "test"})
    with torch.no_grad():
        assert torch.equal(g(w), h(w))
    assert not any(p.requires_grad for p in h.parameters())
    torch.save(g.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(InputError, match="--arch"):
        load_generator(tmp_path / "bare.pt")
    h, info = load_generator(tmp_path / "bare.pt", arch="dcgan32")
    with torch.no_grad():
        assert torch.equal(g(w), h(w)) and info.latent == 8


def test_torchscript_generator_needs_its_latent_and_range(tmp_path):
    from image_priors.learned import load_generator

    g = _gen()
    torch.jit.script(g).save(str(tmp_path / "g.ts"))
    h, info = load_generator(tmp_path / "g.ts")  # the scripted module keeps its attribute `latent`
    w = torch.randn(2, 8)
    with torch.no_grad():
        assert info.latent == 8 and info.shape == (1, 32, 32) and torch.allclose(g(w), h(w))

    class Tanh(torch.nn.Module):
        def forward(self, w):
            return torch.tanh(w.sum(1).view(-1, 1, 1, 1) - 3).expand(-1, 1, 8, 8)

    torch.jit.script(Tanh()).save(str(tmp_path / "tanh.ts"))
    with pytest.raises(InputError, match="--latent"):
        load_generator(tmp_path / "tanh.ts")
    with pytest.raises(InputError, match="outside its stated range"):
        load_generator(tmp_path / "tanh.ts", latent=4)
    assert load_generator(tmp_path / "tanh.ts", latent=4, value_range=(-1, 1))[1].range == (-1.0, 1.0)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a generator file"):
        load_generator(tmp_path / "junk.pt")


def test_csgm_recovers_an_image_in_the_generators_range():
    from image_priors.fit import ImageFitConfig
    from image_priors.learned import csgm
    from image_priors.metrics import psnr
    from image_priors.operators import GaussianSensing

    g = _gen()
    with torch.no_grad():
        x = g(torch.randn(1, 8, generator=torch.Generator().manual_seed(5)))
    op = GaussianSensing((1, 32, 32), 0.05, seed=0)  # 51 measurements of a 8-dimensional range
    cfg = ImageFitConfig(steps=300, lr=0.1, progress=False)
    res = csgm(g, op, op(x), cfg, restarts=3, lam=0.0, truth=x[0].numpy())
    assert res.history["loss"][-1] == min(res.history["restart_loss"])
    assert psnr(x[0].numpy(), res.image) > 30
    with torch.no_grad():
        assert torch.allclose(g(res.latent), torch.as_tensor(res.image)[None], atol=1e-5)


def test_iagan_fits_beyond_the_range_and_keeps_the_known_pixels():
    from image_priors.fit import ImageFitConfig
    from image_priors.learned import iagan
    from image_priors.metrics import psnr
    from image_priors.operators import Mask

    g = _gen()
    before = {k: v.clone() for k, v in g.state_dict().items()}
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    x = torch.as_tensor(0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy), dtype=torch.float32)[None, None]
    op = Mask.random((32, 32), 0.5, seed=0)
    y = op(x)
    first_cfg = ImageFitConfig(steps=100, lr=0.1, progress=False)
    cfg = ImageFitConfig(steps=150, lr=1e-2, back_project=True, progress=False)
    res = iagan(g, op, y, cfg, first_cfg, restarts=1, truth=x[0].numpy())
    # the generator's range misses this image; fitting its weights to the observation gets nearer
    assert res.history["loss"][-1] < 0.5 * res.csgm.history["loss"][-1]
    assert psnr(x[0].numpy(), res.image) > psnr(x[0].numpy(), res.csgm.image) + 2
    known = op.mask[0].numpy() > 0
    assert np.abs(res.image[known] - x[0].numpy()[known]).max() < 1e-5
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in before.items())  # the caller's G untouched


def test_the_latent_penalty_pulls_the_latent_in():
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.learned import LatentPrior
    from image_priors.operators import Identity

    g = _gen()
    y = torch.full((1, 1, 32, 32), 0.5)
    norms = {}
    for lam in (0.0, 100.0):
        prior = LatentPrior(g, torch.full((1, 8), 2.0), lam=lam)
        fit(prior, Identity(), y, ImageFitConfig(steps=50, lr=0.05, ema=0.0, progress=False))
        norms[lam] = float(prior.w.norm())
    assert norms[100.0] < 0.5 * norms[0.0]


def test_train_generator_learns_the_class():
    from image_priors.learned import train_generator

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    # a one-parameter class: vertical stripes of random phase
    imgs = np.stack([0.5 + 0.4 * np.sin(8 * xx + p) for p in rng.uniform(0, 6.28, 64)])[:, None]
    gen, losses = train_generator(imgs, latent=4, width=8, steps=150, batch=16, progress=False)
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    out = gen(torch.zeros(2, 4)).detach()
    assert out.shape == (2, 1, 32, 32) and 0 <= float(out.min()) and float(out.max()) <= 1
