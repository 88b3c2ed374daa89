"""The network of a latent convolutional model (Athar, Burnaev & Lempitsky, ICLR 2019), small.

An image's latent is the weights φ of a small convolutional network f_φ (3×3 convolutions with
LeakyReLU between them) applied to a fixed noise map s; a shared generator g_θ maps f_φ(s) to the
image: x = g_θ(f_φ(s)). The latent space is a *convolutional manifold*: every point of it is a
feature map that a small ConvNet can make from s, which is far larger than a GAN's latent vector
and far more constrained than a free tensor of the same size.

`LatentConvModel` holds θ and s; a latent is a flat row of φ, ``(N, latent)``, so many images'
latents (training) or one (restoration) go through the same code: the N networks run at once as
one grouped convolution.

>>> import torch
>>> m = LatentConvModel(channels=(4, 8, 4), noise_size=8, width=8)
>>> phi = m.init_latent(3, seed=0)
>>> phi.shape, m(phi).shape
(torch.Size([3, 588]), torch.Size([3, 1, 16, 16]))
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from image_priors.priors._seed import seeded


class LatentConvModel(nn.Module):
    """``forward(phi (N, latent)) -> (N, out_channels, 2·noise_size, 2·noise_size)`` in [0, 1].

    f_φ: 3×3 convolutions ``channels[0] → … → channels[-1]`` at the noise map's size, LeakyReLU(0.2)
    between them; its weights and biases, flattened, are the latent (``latent`` numbers per image).
    g_θ: two 3×3 convolutions of ``width`` channels at that size, ×2 nearest upsampling, a 3×3
    convolution to ``width // 2`` channels and a 1×1 one to ``out_channels``, ReLU between them and a
    sigmoid at the end. s: ``(1, channels[0], noise_size, noise_size)`` standard normal, fixed by
    ``seed`` (a buffer: it is saved with θ). With the defaults (32×32 grey images) f_φ has 4,648
    weights per image and g_θ 34,705.
    """

    arch = "lcm32"

    def __init__(
        self,
        channels: tuple = (8, 16, 16, 8),
        noise_size: int = 16,
        out_channels: int = 1,
        width: int = 48,
        seed: int = 0,
    ):
        super().__init__()
        self.channels, self.noise_size = tuple(int(c) for c in channels), int(noise_size)
        self.out_channels, self.width = int(out_channels), int(width)
        if len(self.channels) < 2:
            raise ValueError(f"the latent network needs at least one layer: channels {channels}")
        self.size = 2 * self.noise_size
        with seeded(seed):
            self.register_buffer("s", torch.randn(1, self.channels[0], self.noise_size, self.noise_size))
            self.generator = nn.Sequential(
                nn.Conv2d(self.channels[-1], width, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(width, width, 3, padding=1),
                nn.ReLU(),
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(width, width // 2, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(width // 2, out_channels, 1),
                nn.Sigmoid(),
            )
        # (out, in) per layer of f_φ, and where its weights and bias sit in a latent row
        self.layers = list(zip(self.channels[1:], self.channels[:-1]))
        self.latent = sum(o * i * 9 + o for o, i in self.layers)

    def kwargs(self) -> dict:
        return {
            "channels": list(self.channels),
            "noise_size": self.noise_size,
            "out_channels": self.out_channels,
            "width": self.width,
        }

    def init_latent(self, count: int = 1, seed: int = 0) -> torch.Tensor:
        """``(count, latent)`` latents of freshly initialised networks f_φ, as `torch.nn.Conv2d` draws
        its weights: uniform in ±1/sqrt(fan-in), biases alike. Training starts every image there, and
        restoration starts there too."""
        g = torch.Generator().manual_seed(int(seed))
        parts = []
        for o, i in self.layers:
            bound = 1.0 / math.sqrt(i * 9)
            parts.append((torch.rand(count, o * i * 9 + o, generator=g) * 2 - 1) * bound)
        return torch.cat(parts, dim=1)

    def features(self, phi: torch.Tensor) -> torch.Tensor:
        """f_φ(s): ``phi (N, latent)`` → ``(N, channels[-1], noise_size, noise_size)``, the N networks
        as one grouped convolution."""
        if phi.ndim != 2 or phi.shape[1] != self.latent:
            raise ValueError(f"latents must be (N, {self.latent}), got {tuple(phi.shape)}")
        n, k = len(phi), self.noise_size
        x = self.s.expand(n, -1, -1, -1).reshape(1, n * self.channels[0], k, k)
        at = 0
        for j, (o, i) in enumerate(self.layers):
            w = phi[:, at : at + o * i * 9].reshape(n * o, i, 3, 3)
            b = phi[:, at + o * i * 9 : at + o * i * 9 + o].reshape(n * o)
            at += o * i * 9 + o
            x = F.conv2d(x, w, b, padding=1, groups=n)
            if j < len(self.layers) - 1:
                x = F.leaky_relu(x, 0.2)
        return x.reshape(n, self.channels[-1], k, k)

    def forward(self, phi: torch.Tensor) -> torch.Tensor:
        return self.generator(self.features(phi))
