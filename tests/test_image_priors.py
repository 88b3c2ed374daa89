"""Image priors: operator adjointness, prior shapes and sizes, a short fit, stopping rules, the CLI."""

import subprocess
import sys

import numpy as np
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
    check_adjoint,
    measurements_per_channel,
)
from image_priors.priors import CoordinateMLP, DeepDecoder, SkipNet, deep_decoder_parameters, fourier_scale_for
from image_priors.stopping import Discrepancy, FixedBudget, HeldOut, VarianceWindow, make_rule

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


def test_fourier_scale_follows_the_measured_resolution():
    assert fourier_scale_for(32 * 32) == 2.5 and fourier_scale_for(64 * 64) == 5.0
    assert fourier_scale_for(128 * 128) == fourier_scale_for(1024 * 1024) == 10.0
    grid = [fourier_scale_for(m) for m in (1, 100, 1000, 5000, 16384, 10**6)]
    assert grid == sorted(grid) and grid[0] > 0
    with pytest.raises(ValueError):
        fourier_scale_for(0)
    assert CoordinateMLP((8, 8), fourier=4, fourier_scale=fourier_scale_for(256)).fourier_scale == 1.25
    assert CoordinateMLP((8, 8), fourier=0).fourier_scale is None


@pytest.mark.parametrize(
    "build",
    [lambda s: SkipNet((32, 32), preset="small", seed=s), lambda s: DeepDecoder((32, 32), k=8, d=3, seed=s)],
    ids=["skip", "decoder"],
)
def test_priors_seed_their_weights(build):
    def weights(net):
        return [t.clone() for t in net.state_dict().values()]

    a = weights(build(5))
    torch.rand(7)  # the caller's random state must not matter
    state = torch.get_rng_state()
    b = weights(build(5))
    assert torch.equal(torch.get_rng_state(), state)  # nor be changed
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, weights(build(6))))


def test_skipnet_shapes_and_size():
    net = SkipNet((64, 64), preset="denoise")
    assert net().shape == (1, 3, 64, 64)
    assert 2.1e6 < sum(p.numel() for p in net.parameters()) < 2.3e6  # the reference skip net: 2.2 M
    assert SkipNet((32, 32), out_channels=1, preset="small")().shape == (1, 1, 32, 32)
    with pytest.raises(ValueError):
        SkipNet((40, 40))


@pytest.mark.parametrize("preset", ["denoise", "inpaint"])
def test_skipnet_equals_plain_sequential_build(preset):
    # the benchmark times SkipNet against this nn.Sequential build; it must be the same network
    from image_priors.priors.skip_reference import load_same_weights, sequential_skip

    ours = SkipNet((64, 64), preset=preset, seed=3)
    plain = sequential_skip(3, preset)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in plain.parameters())
    load_same_weights(plain, ours)
    assert torch.allclose(ours(), plain(ours.z), atol=1e-6)
    with pytest.raises(ValueError):
        load_same_weights(sequential_skip(3, "small"), ours)


@pytest.mark.parametrize("k, d", [(16, 3), (64, 4), (128, 6)])
def test_deep_decoder_parameter_formula(k, d):
    dd = DeepDecoder((2 ** (d - 1) * 2, 2 ** (d - 1) * 2), k=k, d=d)
    assert dd.n_parameters() == deep_decoder_parameters(k, d, 3)
    assert dd().shape == (1, 3, 2**d, 2**d)
    assert dd.z.shape == (1, k, 2, 2)


def test_deep_decoder_reference_size():
    assert deep_decoder_parameters(128, 6) == 100_224  # ~1/8 of a 512x512 RGB image


def test_coordinate_mlp_tiles_and_fourier():
    m = CoordinateMLP((32, 48), tiles=(2, 3), fourier=16, hidden=(32, 32))
    assert m().shape == (1, 3, 32, 48)
    assert m.net.n_models == 6 and m.z.shape == (6, 16 * 16, 32)
    plain = CoordinateMLP((16, 16), hidden=(8,))
    assert plain.z.shape == (1, 256, 2)


def _astronaut(size=32):
    from skimage import data
    from skimage.transform import resize

    img = resize(data.astronaut()[100:356, 150:406], (size, size), anti_aliasing=True)
    return img.transpose(2, 0, 1).astype(np.float32)


@pytest.mark.parametrize("prior", ["dd", "mlp"])
def test_short_fit_beats_noisy_input(prior):
    from image_priors.fit import ImageFitConfig, fit
    from image_priors.metrics import psnr
    from image_priors.priors import make_prior

    torch.set_num_threads(2)
    img = _astronaut(32)
    y = add_noise(torch.as_tensor(img)[None], 50, seed=0)
    kw = dict(k=32, d=3) if prior == "dd" else dict(hidden=(64, 64), fourier=16, fourier_scale=3.0)
    res = fit(
        make_prior(prior, (32, 32), **kw), Identity(), y, ImageFitConfig(steps=80, ema=0.0, progress=False), truth=img
    )
    assert res.history["loss"][-1] < res.history["loss"][0]
    assert psnr(img, res.image) > psnr(img, y[0].numpy()) + 1.0


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


def test_make_rule_errors():
    with pytest.raises(ValueError, match="sigma"):
        make_rule("discrepancy")
    with pytest.raises(ValueError):
        make_rule("magic")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "image_priors.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def clean_png(tmp_path):
    from image_priors.imageio import write_image

    write_image(tmp_path / "clean.png", _astronaut(64))
    return tmp_path / "clean.png"


def test_cli_degrade_and_denoise(tmp_path, clean_png):
    assert _cli("degrade", clean_png, "--noise", "25", "-o", tmp_path / "noisy.png").returncode == 0
    proc = _cli(
        "denoise",
        tmp_path / "noisy.png",
        "-o",
        tmp_path / "out.png",
        "--steps",
        "20",
        "--k",
        "16",
        "--truth",
        clean_png,
        "--json",
        "-q",
        "--plot",
        tmp_path / "curves.png",
    )
    assert proc.returncode == 0, proc.stderr
    import json

    rep = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rep["steps_run"] == 20 and "psnr" in rep
    assert (tmp_path / "out.png").exists() and (tmp_path / "curves.png").exists()


def test_cli_inpaint_sr_cs(tmp_path, clean_png):
    assert (
        _cli(
            "degrade", clean_png, "--drop", "0.5", "--mask-out", tmp_path / "mask.png", "-o", tmp_path / "holes.png"
        ).returncode
        == 0
    )
    proc = _cli(
        "inpaint",
        tmp_path / "holes.png",
        "--mask",
        tmp_path / "mask.png",
        "-o",
        tmp_path / "i.png",
        "--steps",
        "3",
        "--prior",
        "dd",
        "--k",
        "8",
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    assert _cli("degrade", clean_png, "--factor", "4", "-o", tmp_path / "lo.png").returncode == 0
    proc = _cli("sr", tmp_path / "lo.png", "--factor", "4", "-o", tmp_path / "sr.png", "--steps", "2", "--small", "-q")
    assert proc.returncode == 0, proc.stderr
    from image_priors.imageio import read_image

    assert read_image(tmp_path / "sr.png").shape == (3, 64, 64)
    proc = _cli(
        "cs",
        clean_png,
        "--gray",
        "--ratio",
        "0.25",
        "-o",
        tmp_path / "cs.png",
        "--steps",
        "2",
        "-q",
        "--prior",
        "dd",
        "--k",
        "8",
    )
    assert proc.returncode == 0 and "dense Gaussian" in proc.stdout, proc.stderr


def test_cli_fourier_scale_from_the_measurements(tmp_path, clean_png):
    # x4 SR of a 16x16 image measures 256 values per channel: scale 10 * 16 / 128
    assert _cli("degrade", clean_png, "--factor", "4", "-o", tmp_path / "lo.png").returncode == 0
    base = [
        "sr",
        tmp_path / "lo.png",
        "--factor",
        "4",
        "-o",
        tmp_path / "sr.png",
        "--steps",
        "1",
        "--prior",
        "mlp",
        "--fourier",
        "8",
        "-q",
    ]
    proc = _cli(*base)
    assert proc.returncode == 0 and "Fourier scale 1.25)" in proc.stdout, proc.stderr
    proc = _cli(*base, "--fourier-scale", "4")
    assert proc.returncode == 0 and "Fourier scale 4)" in proc.stdout, proc.stderr
    proc = _cli(*base, "--fourier-scale", "0")
    assert proc.returncode == 2 and "--fourier-scale must be positive" in proc.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["denoise", "{tmp}/none.png", "-o", "{tmp}/o.png"], "no such file"),
        (["denoise", "{tmp}/bad.png", "-o", "{tmp}/o.png"], "cannot be read"),
        (["inpaint", "{clean}", "--mask", "{tmp}/small.png", "-o", "{tmp}/o.png"], "mask is"),
        (["degrade", "{clean}", "--factor", "3", "-o", "{tmp}/o.png"], "invalid choice"),
        (["sr", "{clean}", "--factor", "4", "--truth", "{clean}", "-o", "{tmp}/o.png"], "ground truth"),
        (["denoise", "{clean}", "--stop", "discrepancy", "-o", "{tmp}/o.png"], "--sigma"),
    ],
)
def test_cli_errors(tmp_path, clean_png, args, fragment):
    from image_priors.imageio import write_image

    (tmp_path / "bad.png").write_bytes(b"not an image")
    write_image(tmp_path / "small.png", np.ones((1, 8, 8)))
    proc = _cli(*[a.format(tmp=tmp_path, clean=clean_png) for a in args])
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.png").exists()


def test_degrade_factor_must_divide(tmp_path):
    from image_priors.imageio import write_image

    write_image(tmp_path / "odd.png", np.ones((3, 30, 30)) * 0.5)
    proc = _cli("degrade", tmp_path / "odd.png", "--factor", "4", "-o", tmp_path / "o.png")
    assert proc.returncode == 2 and "not divisible" in proc.stderr


def test_cli_defaults_are_the_benchmark_choices():
    # image_priors/commands.py TASK_DEFAULTS, chosen from benchmarks/results/images_cpu_128.md
    from image_priors.cli import build_parser

    p = build_parser()
    d = p.parse_args(["denoise", "n.png", "-o", "o.png"])
    assert (d.prior, d.stop, d.ema) == ("dip", "variance", 0.99)
    i = p.parse_args(["inpaint", "h.png", "--drop", "0.5", "-o", "o.png"])
    assert (i.prior, i.stop, i.ema, i.fourier) == ("mlp", "fixed", 0.0, 128)
    assert p.parse_args(["sr", "l.png", "-o", "o.png"]).prior == "dip"
    assert p.parse_args(["cs", "c.png", "-o", "o.png"]).prior == "dip"
