"""The DIP skip network built the way the reference code builds it: nested ``nn.Sequential``
containers and a concatenation module, no custom forward.

Used by ``benchmarks/images.py`` to check that our `image_priors.priors.SkipNet` (one small
module per scale with its own ``forward``) is not slower per step than the plain build of the
same layers. Parameters and buffers are created in the same order as in `SkipNet`, so
``load_same_weights`` can copy one into the other and the two give the same output.
"""

from __future__ import annotations

import torch
from torch import nn

from image_priors.priors.skip import SKIP_PRESETS


class _Cat(nn.Module):
    """Run each branch on the input and concatenate the outputs along channels."""

    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)


def _conv_bn_act(cin, cout, k, stride=1) -> list[nn.Module]:
    pad = (k - 1) // 2
    return ([nn.ReflectionPad2d(pad)] if pad else []) + [
        nn.Conv2d(cin, cout, k, stride=stride),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.2, inplace=True),
    ]


def sequential_skip(out_channels: int = 3, preset: str = "denoise") -> nn.Sequential:
    """The skip network of `SKIP_PRESETS[preset]` as nested ``nn.Sequential``s.

    Input ``(1, in_channels, H, W)``, output ``(1, out_channels, H, W)`` (sigmoid).
    """
    cfg = SKIP_PRESETS[preset]
    down, up, skip, cin = cfg["down"], cfg["up"], cfg["skip"], cfg["in_channels"]
    model = nn.Sequential()
    host = model
    for i in range(len(down)):
        last = i == len(down) - 1
        deeper = nn.Sequential(*_conv_bn_act(cin, down[i], 3, 2), *_conv_bn_act(down[i], down[i], 3))
        inner = nn.Sequential()
        if not last:
            deeper.append(inner)
        deeper.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
        if skip[i]:
            host.append(_Cat(nn.Sequential(*_conv_bn_act(cin, skip[i], 1)), deeper))
        else:
            host.append(deeper)
        merged = skip[i] + (down[i] if last else up[i + 1])
        host.append(nn.BatchNorm2d(merged))
        host.extend(_conv_bn_act(merged, up[i], 3) + _conv_bn_act(up[i], up[i], 1))
        cin, host = down[i], inner
    model.append(nn.Conv2d(up[0], out_channels, 1))
    model.append(nn.Sigmoid())
    return model


def load_same_weights(dst: nn.Module, src: nn.Module) -> None:
    """Copy ``src``'s parameters and buffers into ``dst`` by creation order (shapes must agree)."""
    a = [t for k, t in dst.state_dict().items() if k != "z"]
    b = [t for k, t in src.state_dict().items() if k != "z"]
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        raise ValueError("the two networks do not have the same layers")
    with torch.no_grad():
        for x, y in zip(a, b):
            x.copy_(y)
