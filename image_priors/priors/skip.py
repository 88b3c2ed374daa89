"""Deep Image Prior's encoder-decoder with skip connections (Ulyanov et al. 2018)."""

from __future__ import annotations

import torch
from torch import nn

from image_priors.priors._seed import seeded

#: The paper's settings per task (channels per scale, skip channels, input channels).
SKIP_PRESETS = {
    "denoise": dict(down=(128,) * 5, up=(128,) * 5, skip=(4,) * 5, in_channels=32),
    "inpaint": dict(down=(16, 32, 64, 128, 128), up=(16, 32, 64, 128, 128), skip=(0,) * 5, in_channels=32),
    "sr": dict(down=(128,) * 5, up=(128,) * 5, skip=(4,) * 5, in_channels=32),
    "small": dict(down=(32,) * 4, up=(32,) * 4, skip=(4,) * 4, in_channels=16),
}


def _conv(cin, cout, k, stride=1):
    pad = (k - 1) // 2
    layers = [nn.ReflectionPad2d(pad)] if pad else []
    return nn.Sequential(*layers, nn.Conv2d(cin, cout, k, stride=stride))


def _block(cin, cout, k, stride=1):
    return nn.Sequential(_conv(cin, cout, k, stride), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True))


class _Level(nn.Module):
    """One scale: down (stride-2 conv), the deeper levels, up (bilinear), concat with the skip branch."""

    def __init__(self, cin, down, up_out, skip, deeper: nn.Module | None, deeper_out: int):
        super().__init__()
        self.skip = _block(cin, skip, 1) if skip > 0 else None
        self.down = nn.Sequential(_block(cin, down, 3, stride=2), _block(down, down, 3))
        self.deeper = deeper
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        merged = skip + (deeper_out if deeper is not None else down)
        self.bn = nn.BatchNorm2d(merged)
        self.out = nn.Sequential(_block(merged, up_out, 3), _block(up_out, up_out, 1))

    def forward(self, x):
        y = self.down(x)
        if self.deeper is not None:
            y = self.deeper(y)
        y = self.up(y)
        if self.skip is not None:
            y = torch.cat([self.skip(x), y], 1)
        return self.out(self.bn(y))


class SkipNet(nn.Module):
    """DIP's ``skip`` network: reflection-padded 3×3 convolutions, BatchNorm, LeakyReLU(0.2),
    strided downsampling, bilinear upsampling, skip connections, sigmoid output.

    Parameters
    ----------
    shape : (H, W) of the output; H and W must be divisible by 2^scales
    out_channels : output channels (3 for RGB)
    preset : one of `SKIP_PRESETS` ("denoise", "inpaint", "sr", "small"), overridden by
        ``down``/``up``/``skip``/``in_channels``
    noise_scale : the fixed input z is uniform noise × this (0.1 as in DIP)
    seed : seeds the initial weights and z (the caller's random state is neither used nor changed)

    ``forward(z=None)`` maps the held input (or ``z``) ``(1, in_channels, H, W)`` to ``(1, C, H, W)``.
    """

    def __init__(
        self, shape, out_channels: int = 3, preset: str = "denoise", seed: int = 0, noise_scale: float = 0.1, **override
    ):
        super().__init__()
        cfg = dict(SKIP_PRESETS[preset])
        cfg.update({k: tuple(v) if isinstance(v, list) else v for k, v in override.items()})
        down, up, skip, cin = cfg["down"], cfg["up"], cfg["skip"], cfg["in_channels"]
        if not len(down) == len(up) == len(skip):
            raise ValueError("down, up and skip need one entry per scale")
        h, w = shape
        if h % 2 ** len(down) or w % 2 ** len(down):
            raise ValueError(f"SkipNet with {len(down)} scales needs sizes divisible by {2 ** len(down)}, got {w}x{h}")
        deeper, deeper_out = None, 0
        ins = [cin] + list(down[:-1])
        with seeded(seed):
            for i in reversed(range(len(down))):
                deeper = _Level(ins[i], down[i], up[i], skip[i], deeper, deeper_out)
                deeper_out = up[i]
            self.body = deeper
            self.head = nn.Conv2d(up[0], out_channels, 1)
        gen = torch.Generator().manual_seed(int(seed))
        self.register_buffer("z", torch.rand(1, cin, h, w, generator=gen) * noise_scale)

    def forward(self, z=None):
        return torch.sigmoid(self.head(self.body(self.z if z is None else z)))
