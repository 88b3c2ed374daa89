"""Tests of `image_priors.cli`."""

import json
import subprocess
import sys

import numpy as np
import pytest


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "image_priors.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def clean_png(tmp_path, astronaut):
    from image_priors.imageio import write_image

    write_image(tmp_path / "clean.png", astronaut(64))
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


def test_cli_denoise_estimates_sigma_for_discrepancy(tmp_path, clean_png):
    """Without --sigma, the discrepancy rule stops on the noise level read off the image."""
    import json
    import re

    assert _cli("degrade", clean_png, "--noise", "25", "-o", tmp_path / "noisy.png").returncode == 0
    base = ["denoise", tmp_path / "noisy.png", "-o", tmp_path / "out.png", "--prior", "dd", "--k", "16", "--json"]
    base += ["--stop", "discrepancy", "--steps", "40"]
    proc = _cli(*base, "--tau", "50")  # a residual of 50 sigma^2 is met at the first step
    assert proc.returncode == 0, proc.stderr
    est = float(re.search(r"estimated from the image: sigma ([0-9.]+)", proc.stderr).group(1))
    assert 20 < est < 28  # 25, a little less where the noisy image was clipped to [0, 1]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["steps_run"] == 1
    proc = _cli(*base, "--sigma", "25", "-q")  # told the level: no estimate; a 16-channel decoder never fits below it
    assert proc.returncode == 0 and "estimated" not in proc.stderr, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["steps_run"] == 40


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
        "--back-project",
        "on",
    )
    assert proc.returncode == 0, proc.stderr
    from image_priors.imageio import read_image

    # back-projected: every known pixel of the input is in the output as it was
    known = read_image(tmp_path / "mask.png", gray=True)[0] > 0.5
    holes, out = read_image(tmp_path / "holes.png"), read_image(tmp_path / "i.png")
    assert known.mean() > 0.4 and np.abs(out[:, known] - holes[:, known]).max() < 1.5 / 255
    assert _cli("degrade", clean_png, "--factor", "4", "-o", tmp_path / "lo.png").returncode == 0
    proc = _cli("sr", tmp_path / "lo.png", "--factor", "4", "-o", tmp_path / "sr.png", "--steps", "2", "--small", "-q")
    assert proc.returncode == 0, proc.stderr
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
        (["sr", "{clean}", "--stop", "discrepancy", "-o", "{tmp}/o.png"], "--sigma"),
        (["inpaint", "{clean}", "--drop", "0.5", "--blend", "1.5", "-o", "{tmp}/o.png"], "--blend must be in"),
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


def test_cli_defaults_are_the_benchmark_choices():
    """TASK_DEFAULTS are what the rule of benchmarks/imageset.py picked over the image set, for every
    task the record holds (benchmarks/results/imageset_cpu_128.md)."""
    import re
    from pathlib import Path

    from image_priors.cli import build_parser

    p = build_parser()
    d = p.parse_args(["denoise", "n.png", "-o", "o.png"])
    assert (d.prior, d.stop, d.tau, d.ema) == ("dip", "variance-or-discrepancy", 0.8, 0.99)
    results = Path(__file__).resolve().parents[2] / "benchmarks/results"
    # the denoising rule and its tau: the pick over the stopping rules watching the same fits, named
    # there as benchmarks/denoise_stop.py names them
    stop_pick = re.search(r"Rule \(imageset[^*]*\*\*([^*]+)\*\*", (results / "denoise_stop_cpu_128.md").read_text())
    named = {"discrepancy": "disc", "variance-or-discrepancy": "var/disc"}
    assert stop_pick.group(1) == f"{d.prior} {named[d.stop]} {d.tau}"
    text = (results / "imageset_cpu_128.md").read_text()
    flags = {"inpaint": ["h.png", "--drop", "0.5"], "sr": ["l.png"], "cs": ["c.png"], "denoise": ["n.png"]}
    checked = 0
    for section in text.split("\n## ")[1:]:
        task = section.split()[0]
        pick = re.search(r"Rule \(best mean[^*]*\*\*([^*]+)\*\*", section).group(1)
        a = p.parse_args([task, *flags[task], "-o", "o.png"])
        blend = str(getattr(a, "blend", "0"))
        bp = getattr(a, "back_project", "off") == "on"
        suffix = "+auto" if blend == "auto" else "+BH" if float(blend) else "+BP" if bp else ""
        assert a.prior + suffix == pick, (task, a.prior + suffix, pick)
        checked += 1
    assert checked >= 1


def test_degrade_factor_must_divide(tmp_path):
    from image_priors.imageio import write_image

    write_image(tmp_path / "odd.png", np.ones((3, 30, 30)) * 0.5)
    proc = _cli("degrade", tmp_path / "odd.png", "--factor", "4", "-o", tmp_path / "o.png")
    assert proc.returncode == 2 and "not divisible" in proc.stderr


def test_cli_inpaint_blend_one_is_the_biharmonic_fill(tmp_path, clean_png):
    from image_priors.classical import biharmonic_fill
    from image_priors.imageio import read_image

    args = ["--drop", "0.5", "--mask-out", tmp_path / "mask.png", "-o", tmp_path / "holes.png"]
    assert _cli("degrade", clean_png, *args).returncode == 0
    common = ["--mask", tmp_path / "mask.png", "--steps", "2", "--prior", "dd", "--k", "8", "-q"]
    for blend in ("1", "0.5"):
        proc = _cli("inpaint", tmp_path / "holes.png", *common, "--blend", blend, "-o", tmp_path / f"b{blend}.png")
        assert proc.returncode == 0, proc.stderr
    known = read_image(tmp_path / "mask.png", gray=True)[0] > 0.5
    fill = biharmonic_fill(read_image(tmp_path / "holes.png") * known, known)
    assert np.abs(read_image(tmp_path / "b1.png") - fill).max() <= 1 / 255
    assert np.abs(read_image(tmp_path / "b0.5.png") - fill).max() > 5 / 255  # the prior's half shows


def test_cli_inpaint_blend_auto_trusts_the_better_estimate(tmp_path, clean_png):
    """Two steps of a tiny Deep Decoder predict the held-out pixels far worse than biharmonic does:
    --blend auto gives the fill nearly all the weight, says so, and keeps the known pixels."""
    from image_priors.classical import biharmonic_fill
    from image_priors.imageio import read_image

    args = ["--drop", "0.5", "--mask-out", tmp_path / "mask.png", "-o", tmp_path / "holes.png"]
    assert _cli("degrade", clean_png, *args).returncode == 0
    common = ["--mask", tmp_path / "mask.png", "--steps", "2", "--prior", "dd", "--k", "8", "-q"]
    proc = _cli("inpaint", tmp_path / "holes.png", *common, "--blend", "auto", "-o", tmp_path / "auto.png")
    assert proc.returncode == 0, proc.stderr
    weight = float(proc.stdout.split("biharmonic weight ")[1].split()[0])
    assert weight > 0.9
    known = read_image(tmp_path / "mask.png", gray=True)[0] > 0.5
    holes = read_image(tmp_path / "holes.png")
    out = read_image(tmp_path / "auto.png")
    fill = biharmonic_fill(holes * known, known)
    assert np.abs(out - fill).max() < 0.1
    proc = _cli(
        "inpaint", tmp_path / "holes.png", *common, "--back-project", "on", "--blend", "auto", "-o", tmp_path / "bp.png"
    )
    assert proc.returncode == 0, proc.stderr
    assert np.abs(read_image(tmp_path / "bp.png")[:, known] - holes[:, known]).max() <= 1 / 255
    bad = _cli("inpaint", tmp_path / "holes.png", *common, "--blend", "half", "-o", tmp_path / "x.png")
    assert bad.returncode == 2 and "--blend must be auto or a number" in bad.stderr


def test_cli_learned_priors_with_a_generator_file(tmp_path):
    """--prior csgm|iagan with --generator: grey input for a grey generator, the report, clear errors."""
    import torch

    from image_priors.imageio import write_image
    from image_priors.learned import Generator, save_generator

    gen = Generator(latent=8, channels=1, width=4, seed=0).eval()
    save_generator(tmp_path / "g.pt", gen, {"data": "test"})
    with torch.no_grad():
        face = gen(torch.randn(1, 8, generator=torch.Generator().manual_seed(3)))[0].numpy()
    write_image(tmp_path / "x.png", np.repeat(face, 3, 0))  # an RGB file of a grey picture
    common = ["--generator", tmp_path / "g.pt", "--steps", "150", "--restarts", "2", "-q", "--json"]
    proc = _cli("cs", tmp_path / "x.png", "--ratio", "0.1", "--prior", "csgm", *common, "-o", tmp_path / "cs.png")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["prior"] == "csgm" and report["psnr"] > 25 and report["measurement_loss"] < 1e-3
    proc = _cli(
        "inpaint",
        tmp_path / "x.png",
        "--drop",
        "0.5",
        "--prior",
        "iagan",
        "--back-project",
        "on",
        *common,
        "--truth",
        tmp_path / "x.png",
        "-o",
        tmp_path / "ip.png",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["psnr"] > 25
    bad = _cli("inpaint", tmp_path / "x.png", "--drop", "0.5", "--prior", "csgm", "-o", tmp_path / "o.png")
    assert bad.returncode == 2 and "--generator is needed" in bad.stderr
    write_image(tmp_path / "big.png", np.zeros((1, 64, 64)))
    bad = _cli(
        "denoise", tmp_path / "big.png", "--prior", "csgm", "--generator", tmp_path / "g.pt", "-o", tmp_path / "o.png"
    )
    assert bad.returncode == 2 and "the generator makes 1-channel 32x32 images" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_cli_trains_and_uses_a_latent_convolutional_model(tmp_path):
    """train-generator --model lcm writes a model --prior lcm restores with; the wrong pairings of
    prior and file are one line and exit 2."""
    from image_priors.imageio import write_image
    from image_priors.learned import Generator, faces, save_generator

    save_generator(tmp_path / "g.pt", Generator(latent=8, channels=1, width=4).eval())
    proc = _cli("train-generator", "--model", "lcm", "--steps", "150", "--width", "16", "-q", "-o", tmp_path / "m.pt")
    assert proc.returncode == 0, proc.stderr
    assert "lcm32, latent 4648" in proc.stdout
    write_image(tmp_path / "face.png", faces("test")[0])
    common = ["--ratio", "0.5", "--steps", "100", "--restarts", "1", "-q", "--json", "--truth", tmp_path / "face.png"]
    proc = _cli(
        "cs",
        tmp_path / "face.png",
        "--prior",
        "lcm",
        "--generator",
        tmp_path / "m.pt",
        *common,
        "-o",
        tmp_path / "o.png",
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["prior"] == "lcm" and report["steps_run"] == 100
    # a held-out face from half its measurements, far above the minimum-norm solution's ~10 dB
    assert report["psnr"] > 20
    bad = _cli(
        "cs",
        tmp_path / "face.png",
        "--prior",
        "csgm",
        "--generator",
        tmp_path / "m.pt",
        *common,
        "-o",
        tmp_path / "o.png",
    )
    assert bad.returncode == 2 and "use it with --prior lcm" in bad.stderr
    bad = _cli(
        "cs",
        tmp_path / "face.png",
        "--prior",
        "lcm",
        "--generator",
        tmp_path / "g.pt",
        *common,
        "-o",
        tmp_path / "o.png",
    )
    assert bad.returncode == 2 and "not a latent convolutional model" in bad.stderr
    assert "Traceback" not in bad.stderr
