"""Tests of `image_priors.experiments`."""

import csv
import subprocess
import sys

import pytest


def _read(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_impedance_natural_image_fits_fastest(tmp_path):
    from image_priors.experiments import run

    run("impedance", tmp_path, quick=True)
    assert (tmp_path / "impedance.png").stat().st_size > 10_000
    rows = _read(tmp_path / "impedance.csv")
    last = max(int(r["step"]) for r in rows)
    for net in ("DIP SkipNet", "Deep Decoder"):
        final = {r["target"]: float(r["mse"]) for r in rows if r["network"] == net and int(r["step"]) == last}
        assert final["natural image"] < final["image + noise"] < final["uniform noise"]
        assert final["natural image"] < final["shuffled pixels"]


def test_noise_bound_holds(tmp_path):
    from image_priors.experiments import run

    run("dd-noise-bound", tmp_path, quick=True)
    rows = _read(tmp_path / "dd-noise-bound.csv")
    one = [r for r in rows if r["model"] == "one-layer"]
    assert one and all(float(r["fraction_removed"]) <= float(r["bound"]) for r in one if r["bound"] != "nan")
    dd = [r for r in rows if r["model"] != "one-layer"]
    fr = [float(r["fraction_removed"]) for r in sorted(dd, key=lambda r: int(r["parameters"]))]
    assert fr == sorted(fr)  # more parameters fit more noise


@pytest.mark.slow
def test_early_stopping_shapes(tmp_path):
    from image_priors.experiments import run

    s = run("early-stopping", tmp_path, quick=True)
    assert s["coordinate MLP"]["max_psnr"] > s["coordinate MLP"]["final_psnr"] + 1.0  # rises then falls
    assert s["Deep Decoder"]["final_psnr"] > s["Deep Decoder"]["max_psnr"] - 1.0  # does not fall
    assert s["DIP"]["max_psnr"] > s["noisy_psnr"] + 2.0


def test_spectral_bias_fourier_features_win(tmp_path):
    from image_priors.experiments import run

    s = run("spectral-bias", tmp_path, quick=True)
    assert s["Fourier features"] > s["plain coordinates"] + 5.0
    assert (tmp_path / "spectral-bias.png").exists()


def test_experiment_cli_unknown_name(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "image_priors.cli", "experiment", "nope", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2


def test_learned_prior_wins_on_its_class_and_loses_off_it(tmp_path):
    from image_priors.experiments import run

    s = run("learned-vs-unlearned", tmp_path, quick=True)
    assert (tmp_path / "learned-vs-unlearned.png").stat().st_size > 10_000
    faces, unlike = "held-out faces", "unlike: camera, astronaut crops"
    assert s[f"{faces}|CSGM|0.1"] > s[f"{faces}|A⁺y|0.1"] + 10
    # IAGAN lifts CSGM's ceiling where there are measurements to fit
    assert s[f"{faces}|IAGAN|0.5"] > s[f"{faces}|CSGM|0.5"] + 2
    # off its class the face generator is beaten by an untrained network
    assert max(s[f"{unlike}|DIP|0.1"], s[f"{unlike}|Deep Decoder|0.1"]) > s[f"{unlike}|CSGM|0.1"] + 2
    # the LCM's latent (a ConvNet's weights) reaches images CSGM's 64 numbers cannot, given measurements
    assert s[f"{faces}|LCM|0.5"] > s[f"{faces}|CSGM|0.5"] + 2
    # x4 super-resolution runs beside compressed sensing, every method scored
    assert all(f"{g}|{m}|sr4" in s for g in (faces, unlike) for m in ("TV", "LCM", "IAGAN+BP"))
