"""The DGP's coordinate MLP applied to an image: a map [0,1]² → R^C, optionally one MLP per tile."""

from __future__ import annotations

import math

import torch
from torch import nn

from dgp.coordmlp import BatchedMLP

#: Fourier feature scale (standard deviation of the frequencies, cycles per image side) when the
#: data pin down `FULL_RESOLUTION`² values per channel or more.
FOURIER_SCALE = 10.0
#: Side of the measurement grid from which on `fourier_scale_for` gives `FOURIER_SCALE`.
FULL_RESOLUTION = 128


def fourier_scale_for(measurements: float) -> float:
    """The Fourier feature scale for data of ``measurements`` values per channel:
    ``FOURIER_SCALE * min(1, sqrt(measurements) / FULL_RESOLUTION)``.

    Frequencies above what the measurements resolve are unconstrained: ×4 super-resolution
    from 32² or compressed sensing with 1,024 measurements leave them in the operator's null
    space, and with scale 10 the MLP fills it with high-frequency texture (the comparison with
    fixed scales is in docs/results.md). The scale follows the side of the measured grid:
    2.5 for 32² measurements, 5 for 64², 10 for 128² and up.

    >>> fourier_scale_for(32 * 32), fourier_scale_for(64 * 64), fourier_scale_for(512 * 512)
    (2.5, 5.0, 10.0)
    """
    if measurements <= 0:
        raise ValueError(f"measurements must be positive, got {measurements}")
    return FOURIER_SCALE * min(1.0, math.sqrt(measurements) / FULL_RESOLUTION)


class CoordinateMLP(nn.Module):
    """An image as the output of ReLU MLPs on pixel coordinates, built on `dgp.coordmlp.BatchedMLP`.

    The image is split into ``tiles = (ty, tx)`` tiles, each represented by its own MLP on the
    tile's local coordinates in [0, 1]² (as DGP splits a surface into charts); ``(1, 1)`` is one
    MLP for the whole image. With ``fourier > 0`` the coordinates v are lifted to
    [sin 2πBv, cos 2πBv] with a fixed Gaussian B ∈ R^{2×fourier} of scale ``fourier_scale``
    (random Fourier features), which removes the plain ReLU MLP's bias towards low frequencies;
    `fourier_scale_for` picks the scale from how many measurements the data hold.

    Parameters
    ----------
    shape : (H, W), each divisible by the tile counts; out_channels : C
    hidden : hidden widths; tiles : (ty, tx); fourier : number of frequencies (0 = plain coordinates)
    """

    def __init__(
        self,
        shape,
        out_channels: int = 3,
        hidden=(256, 256, 256),
        tiles=(1, 1),
        fourier: int = 0,
        fourier_scale: float = FOURIER_SCALE,
        seed: int = 0,
    ):
        super().__init__()
        h, w = shape
        ty, tx = tiles
        if h % ty or w % tx:
            raise ValueError(f"tiles {ty}x{tx} must divide the image size {w}x{h}")
        th, tw = h // ty, w // tx
        ys, xs = torch.meshgrid(torch.linspace(0, 1, th), torch.linspace(0, 1, tw), indexing="ij")
        coords = torch.stack([xs, ys], -1).reshape(1, -1, 2).expand(ty * tx, -1, -1)
        gen = torch.Generator().manual_seed(int(seed))
        if fourier > 0:
            B = torch.randn(2, fourier, generator=gen) * fourier_scale
            proj = 2 * math.pi * coords @ B
            feats = torch.cat([torch.sin(proj), torch.cos(proj)], -1)
        else:
            feats = coords * 2 - 1
        self.register_buffer("z", feats.contiguous())
        self.net = BatchedMLP(ty * tx, (feats.shape[-1], *hidden, out_channels), seed=seed)
        self.shape, self.tiles, self.channels = (h, w), (ty, tx), out_channels
        self.fourier_scale = float(fourier_scale) if fourier > 0 else None

    def forward(self, z=None):
        out = self.net(self.z if z is None else z)  # (P, th*tw, C)
        (h, w), (ty, tx), c = self.shape, self.tiles, self.channels
        th, tw = h // ty, w // tx
        img = out.reshape(ty, tx, th, tw, c).permute(4, 0, 2, 1, 3).reshape(1, c, h, w)
        return torch.sigmoid(img)
