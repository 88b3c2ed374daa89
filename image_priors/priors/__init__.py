"""Priors f_θ(z): networks that hold their fixed input z as a buffer; ``prior()`` returns an image.

>>> from image_priors.priors import DeepDecoder
>>> dd = DeepDecoder((64, 64), k=16, d=4)
>>> dd().shape
torch.Size([1, 3, 64, 64])
"""

from image_priors.priors.coordinate import CoordinateMLP, fourier_scale_for
from image_priors.priors.decoder import DeepDecoder, deep_decoder_parameters
from image_priors.priors.skip import SKIP_PRESETS, SkipNet

__all__ = [
    "SkipNet",
    "SKIP_PRESETS",
    "DeepDecoder",
    "deep_decoder_parameters",
    "CoordinateMLP",
    "fourier_scale_for",
    "make_prior",
]


def make_prior(name: str, shape, channels: int = 3, seed: int = 0, **kw):
    """Build a prior by name: ``"dip"`` (SkipNet), ``"dd"`` (DeepDecoder) or ``"mlp"`` (CoordinateMLP).

    ``shape`` is the output (H, W). Each prior seeds its own initial weights and input with ``seed``.
    """
    if name == "dip":
        return SkipNet(shape, out_channels=channels, seed=seed, **kw)
    if name == "dd":
        return DeepDecoder(shape, out_channels=channels, seed=seed, **kw)
    if name == "mlp":
        return CoordinateMLP(shape, out_channels=channels, seed=seed, **kw)
    raise ValueError(f"unknown prior {name!r}; choose dip, dd or mlp")
