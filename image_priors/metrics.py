"""Image quality metrics through scikit-image, on (C, H, W) or (H, W[, C]) arrays in [0, 1].

>>> import numpy as np
>>> a = np.zeros((3, 8, 8)); b = a + 0.1
>>> round(psnr(a, b), 2)
20.0
"""

from __future__ import annotations

import numpy as np


def _hwc(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim == 4:
        x = x[0]
    if x.ndim == 3 and x.shape[0] in (1, 3) and x.shape[-1] not in (1, 3):
        x = np.moveaxis(x, 0, -1)
    return x[..., 0] if x.ndim == 3 and x.shape[-1] == 1 else x


def psnr(truth, estimate) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]."""
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(_hwc(truth), np.clip(_hwc(estimate), 0, 1), data_range=1.0))


def ssim(truth, estimate) -> float:
    """Structural similarity (scikit-image, Gaussian-weighted as in Wang et al.) for images in [0, 1]."""
    from skimage.metrics import structural_similarity

    t, e = _hwc(truth), np.clip(_hwc(estimate), 0, 1)
    return float(
        structural_similarity(
            t,
            e,
            data_range=1.0,
            channel_axis=-1 if t.ndim == 3 else None,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )
