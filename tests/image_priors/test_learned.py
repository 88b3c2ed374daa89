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


def _lcm(seed=0):
    from image_priors.priors.latent_conv import LatentConvModel

    torch.set_num_threads(2)
    return LatentConvModel(channels=(4, 8, 4), noise_size=16, width=8, seed=seed).eval()


def test_the_latent_networks_run_as_one_grouped_convolution():
    """f_φ(s) of N latents at once equals each latent network run alone as plain convolutions."""
    import torch.nn.functional as F

    m = _lcm()
    phi = m.init_latent(3, seed=1)
    together = m.features(phi)
    for n in range(3):
        x, at = m.s, 0
        for j, (o, i) in enumerate(m.layers):
            w = phi[n, at : at + o * i * 9].reshape(o, i, 3, 3)
            b = phi[n, at + o * i * 9 : at + o * i * 9 + o]
            at += o * i * 9 + o
            x = F.conv2d(x, w, b, padding=1)
            x = F.leaky_relu(x, 0.2) if j < len(m.layers) - 1 else x
        assert torch.allclose(together[n], x[0], atol=1e-6)
    assert at == m.latent
    with pytest.raises(ValueError, match="latents must be"):
        m(torch.zeros(1, m.latent + 1))


def test_lcm_file_round_trip_and_the_prior_it_serves(tmp_path):
    from image_priors.learned import load_generator, save_generator

    m = _lcm()
    save_generator(tmp_path / "lcm.pt", m, {"data": "test"})
    h, info = load_generator(tmp_path / "lcm.pt")
    phi = m.init_latent(2, seed=3)
    with torch.no_grad():
        assert torch.equal(m(phi), h(phi))
    assert (info.arch, info.latent, info.shape) == ("lcm32", m.latent, (1, 32, 32))
    torch.save(m.state_dict(), tmp_path / "bare.pt")  # the default architecture does not fit these weights
    with pytest.raises(InputError, match="do not fit a lcm32"):
        load_generator(tmp_path / "bare.pt", arch="lcm32")


def test_lcm_fits_the_latent_network_and_keeps_the_generator():
    """LCM restoration moves only φ: the measurement loss falls far below the fresh network's, the
    restart with the lowest loss is returned, the model's weights are as they were."""
    from image_priors.fit import ImageFitConfig
    from image_priors.learned import lcm
    from image_priors.metrics import psnr
    from image_priors.operators import Mask

    m = _lcm()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    with torch.no_grad():
        x = m(m.init_latent(1, seed=7) * 5)  # a latent far from the fresh networks, with contrast
    op = Mask.random((32, 32), 0.7, seed=0)
    y = op(x)
    res = lcm(m, op, y, ImageFitConfig(steps=200, lr=0.02, progress=False), restarts=2, truth=x[0].numpy())
    assert res.history["loss"][-1] == min(res.history["restart_loss"])
    assert res.history["loss"][-1] < 0.05 * res.history["loss"][0]
    assert psnr(x[0].numpy(), res.image) > res.history["psnr"][0] + 6, (
        res.history["psnr"][0],
        psnr(x[0].numpy(), res.image),
    )
    assert res.latent.shape == (1, m.latent)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())


def test_train_lcm_learns_the_class():
    from image_priors.learned import train_lcm

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    imgs = np.stack([0.5 + 0.4 * np.sin(8 * xx + p) for p in rng.uniform(0, 6.28, 16)])[:, None]
    model, losses = train_lcm(imgs, steps=120, batch=8, progress=False, channels=(4, 8, 4), width=8)
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    assert not model.training and model(model.init_latent(2)).shape == (2, 1, 32, 32)


def test_malformed_generator_files_say_what_does_not_fit(tmp_path):
    """A wrong latent size, an output that is not (1, C, H, W), a file that is not torch's: one
    `InputError` each, and on the command line one line with exit 2."""
    import subprocess
    import sys

    from image_priors.learned import load_generator, save_generator

    save_generator(tmp_path / "g.pt", _gen())
    with pytest.raises(InputError, match="do not fit a dcgan32 generator"):
        load_generator(tmp_path / "g.pt", latent=32)  # the weights were made for a latent of 8

    class Flat(torch.nn.Module):
        def forward(self, w):
            return torch.sigmoid(w.sum(1)).view(1, 1, 1).expand(1, 32, 32)  # (C, H, W): no batch

    torch.jit.script(Flat()).save(str(tmp_path / "flat.ts"))
    with pytest.raises(InputError, match=r"must return \(1, C, H, W\) images"):
        load_generator(tmp_path / "flat.ts", latent=4)
    from image_priors.imageio import write_image

    write_image(tmp_path / "x.png", np.full((1, 32, 32), 0.5, np.float32))
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 64)
    proc = subprocess.run(
        [sys.executable, "-m", "image_priors.cli", "cs", str(tmp_path / "x.png"), "--prior", "csgm"]
        + ["--generator", str(tmp_path / "junk.pt"), "-o", str(tmp_path / "o.png")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "not a generator file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
