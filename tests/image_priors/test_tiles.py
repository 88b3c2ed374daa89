"""Tests of `image_priors.tiles` and the operators' tiles."""

import numpy as np
import pytest
import torch

from dgp.settings import SettingError
from image_priors.operators import Downsample, Identity, Mask, StructuredSensing
from image_priors.tiles import fit_tiles, ramp, tile_starts, tiles


@pytest.mark.parametrize(
    "n,tile,overlap,step", [(100, 40, 8, 1), (256, 64, 16, 4), (64, 64, 16, 1), (1000, 256, 32, 8)]
)
def test_tiles_cover_the_image_with_the_overlap(n, tile, overlap, step):
    starts = tile_starts(n, tile, overlap, step)
    assert starts[0] == 0 and starts[-1] + tile == n
    assert all(s % step == 0 for s in starts)
    assert all(b - a <= tile - overlap and b > a for a, b in zip(starts, starts[1:]))


def test_blending_reproduces_what_every_tile_agrees_on():
    rng = np.random.default_rng(0)
    img = rng.random((3, 150, 110)).astype(np.float32)
    out = fit_tiles(lambda y0, y1, x0, x1: img[:, y0:y1, x0:x1], img.shape, 64, 16, report=None)
    assert np.allclose(out, img, atol=1e-6)
    assert ramp(10, 3, first=False, last=False).min() > 0  # every pixel keeps some weight


def test_seams_blend_smoothly_between_disagreeing_tiles():
    # tiles that each return their own constant: the blend moves between them over the overlap
    # instead of jumping at one pixel
    shape = (1, 64, 112)
    boxes = tiles(shape, 64, 16)
    level = {b[2]: float(i) for i, b in enumerate(boxes)}
    out = fit_tiles(lambda y0, y1, x0, x1: np.full((1, y1 - y0, x1 - x0), level[x0]), shape, 64, 16, report=None)
    steps = np.abs(np.diff(out[0, 32]))
    assert steps.max() < 0.1 and out[0, 32, 0] == 0.0 and out[0, 32, -1] == float(len(boxes) - 1)


def test_operators_cut_to_a_tile_measure_the_tile():
    x = torch.rand(1, 3, 64, 64)
    for op in (Identity(), Mask.random((64, 64), 0.5, seed=1)):
        sub, y = op.tile(op(x), 16, 48, 8, 40)
        assert torch.equal(sub(x[..., 16:48, 8:40]), y)
    down = Downsample(4)
    sub, y = down.tile(down(x), 16, 48, 8, 40)
    assert y.shape[-2:] == (8, 8) and down.tile_step == 4
    inner = sub(x[..., 16:48, 8:40])[..., 2:-2, 2:-2]  # away from the tile's wrapped edges
    assert torch.allclose(inner, y[..., 2:-2, 2:-2], atol=1e-5)
    with pytest.raises(SettingError, match="whole image"):
        StructuredSensing((1, 64, 64), 0.25).tile(torch.zeros(1, 1), 0, 32, 0, 32)


def test_cli_denoise_in_tiles_and_auto_tiles_when_memory_is_short(tmp_path, astronaut, monkeypatch, capsys):
    import dgp.util
    from image_priors.cli import main
    from image_priors.imageio import read_image, write_image

    img = astronaut(128)
    write_image(tmp_path / "y.png", img)
    args = ["denoise", str(tmp_path / "y.png"), "--prior", "dd", "--steps", "3", "--stop", "fixed", "-q"]
    assert main(args + ["-o", str(tmp_path / "t.png"), "--tile", "64"]) == 0
    out = capsys.readouterr().out
    assert "fitting 64x64 tiles" in out and "tiles=9" in out
    assert read_image(tmp_path / "t.png").shape == img.shape
    # too little memory for the whole image: auto cuts it into tiles of 256 (here a 320x320 image)
    write_image(tmp_path / "big.png", np.tile(img, (1, 3, 3))[:, :320, :320])
    monkeypatch.setattr(dgp.util, "available_memory_mb", lambda: 1.0)
    big = ["denoise", str(tmp_path / "big.png"), "--prior", "dd", "--steps", "1", "--stop", "fixed", "-q"]
    assert main(big + ["-o", str(tmp_path / "b.png")]) == 0
    out = capsys.readouterr().out
    assert "fitting 256x256 tiles" in out and "tiles=4" in out
    assert main(big + ["-o", str(tmp_path / "b.png"), "--tile", "32"]) == 2
