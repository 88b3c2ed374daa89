"""The Deep Decoder (Heckel & Hand 2019): 1×1 convolutions, bilinear upsampling, ReLU, channel norm."""

from __future__ import annotations

import torch
from torch import nn

from image_priors.priors._seed import seeded


def deep_decoder_parameters(k: int, d: int, out_channels: int = 3) -> int:
    """Parameter count of `DeepDecoder`: d·k² (1×1 convolutions) + 2·d·k (norm scales and shifts) + k·C (output)."""
    return d * k * k + 2 * d * k + k * out_channels


class DeepDecoder(nn.Module):
    """An under-parameterised image generator with no convolutions wider than one pixel.

    Layer i (of d): 1×1 convolution k→k (no bias), bilinear ×2 upsampling (all but the last),
    ReLU, channel normalisation (BatchNorm with affine scale and shift); then a 1×1
    convolution k→C and a sigmoid. The fixed input is ``(1, k, H/2^(d-1), W/2^(d-1))`` uniform
    noise. With k = 128 and d = 6 it has about 100k parameters, ~1/8 of a 512² RGB image, and
    cannot fit noise.

    Parameters
    ----------
    shape : (H, W), divisible by 2^(d-1); k : channels; d : layers; out_channels : C
    seed : seeds the initial weights and z (the caller's random state is neither used nor changed)
    """

    def __init__(self, shape, k: int = 128, d: int = 6, out_channels: int = 3, seed: int = 0):
        super().__init__()
        h, w = shape
        s = 2 ** (d - 1)
        if h % s or w % s:
            raise ValueError(f"DeepDecoder with d={d} needs sizes divisible by {s}, got {w}x{h}")
        layers = []
        with seeded(seed):
            for i in range(d):
                layers.append(nn.Conv2d(k, k, 1, bias=False))
                if i < d - 1:
                    layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
                layers += [nn.ReLU(), nn.BatchNorm2d(k)]
            layers.append(nn.Conv2d(k, out_channels, 1, bias=False))
        self.net = nn.Sequential(*layers)
        self.k, self.d = k, d
        gen = torch.Generator().manual_seed(int(seed))
        self.register_buffer("z", torch.rand(1, k, h // s, w // s, generator=gen))

    def forward(self, z=None):
        return torch.sigmoid(self.net(self.z if z is None else z))

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
