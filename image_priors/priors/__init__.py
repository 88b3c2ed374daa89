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
    "prior_for_image",
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


def _multiple(n: int, m: int) -> int:
    return -(-n // m) * m


def prior_for_image(
    name: str,
    shape,
    op=None,
    task: str = "denoise",
    seed: int = 0,
    small: bool = False,
    k: int = 128,
    d: int = 6,
    fourier: int = 128,
    fourier_scale: float | None = None,
    tiles: int = 1,
):
    """The prior ``name`` for an image of ``shape (C, H, W)`` measured by ``op``, as the CLI builds it.

    The network is built at a size its architecture accepts (a multiple of 32 for DIP and the
    Deep Decoder, of ``tiles`` for the coordinate MLP); when that differs from (H, W) a `Crop`
    back to (H, W) is returned beside it, to be composed after the prior. DIP takes the preset of
    ``task`` (``small``: the 4-scale CPU preset); the Deep Decoder ``k`` channels and ``d`` layers;
    the coordinate MLP ``fourier`` features at ``fourier_scale``, by default the scale that suits
    how many values per channel ``op`` measures (`fourier_scale_for`).

    Returns ``(prior, crop or None)``.

    >>> from image_priors.operators import Downsample
    >>> net, crop = prior_for_image("mlp", (3, 64, 64), Downsample(4))
    >>> round(net.fourier_scale, 2), crop is None
    (1.25, True)
    >>> net, crop = prior_for_image("dd", (3, 50, 40), k=8, d=3)
    >>> tuple(net().shape), (crop.h, crop.w)
    ((1, 3, 64, 64), (50, 40))
    """
    from dgp.settings import SettingError
    from image_priors.operators import Crop, Identity, measurements_per_channel

    channels, h, w = shape
    kw = {}
    if name == "dip":
        kw["preset"] = (
            "small" if small else {"denoise": "denoise", "inpaint": "inpaint", "sr": "sr"}.get(task, "denoise")
        )
    elif name == "dd":
        kw.update(k=k, d=d)
    elif name == "mlp":
        if fourier_scale is None:
            fourier_scale = fourier_scale_for(measurements_per_channel(op or Identity(), (channels, h, w)))
        elif fourier_scale <= 0:
            raise SettingError("fourier_scale", f"must be positive, got {fourier_scale}")
        kw.update(fourier=fourier, fourier_scale=fourier_scale, tiles=(tiles, tiles))
    m = 32 if name in ("dip", "dd") else tiles
    H, W = _multiple(h, m), _multiple(w, m)
    prior = make_prior(name, (H, W), channels=channels, seed=seed, **kw)
    return prior, (None if (H, W) == (h, w) else Crop(h, w, H, W))
