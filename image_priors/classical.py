"""Classical restorations the priors are blended with or compared against (no network involved).

>>> import numpy as np
>>> y = np.zeros((1, 8, 8), np.float32); y[:, ::2] = 1.0            # every other row known, all ones
>>> known = np.zeros((8, 8), bool); known[::2] = True
>>> out = biharmonic_fill(y * known, known)
>>> out.shape, bool(np.allclose(out, 1.0, atol=1e-6))
((1, 8, 8), True)
"""

from __future__ import annotations

import numpy as np


def biharmonic_fill(y: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Inpaint the unknown pixels of ``y (C, H, W)`` by biharmonic interpolation of the ``known (H, W)``
    ones (`skimage.restoration.inpaint_biharmonic`, every channel alike); known pixels are kept.
    Returns ``(C, H, W)`` float32 clipped to [0, 1]."""
    from skimage.restoration import inpaint_biharmonic

    known = np.asarray(known, bool)
    if known.all():
        return np.asarray(y, np.float32).copy()
    img = np.moveaxis(np.asarray(y, np.float64), 0, -1)
    out = inpaint_biharmonic(img, ~known, channel_axis=-1)
    out = np.moveaxis(out, -1, 0)
    out[:, known] = np.asarray(y, np.float64)[:, known]
    return np.clip(out, 0, 1).astype(np.float32)


#: fraction of the known pixels ``--blend auto`` holds out of the fit to choose the weight on
HOLDOUT = 0.05


def split_known(known: np.ndarray, fraction: float = HOLDOUT, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split the ``known (H, W)`` pixels into ``(fit, held)``, two disjoint (H, W) boolean masks whose
    union is ``known``; ``held`` is a random ``fraction`` of them (at least one where any is known).

    >>> known = np.ones((10, 10), bool)
    >>> fit, held = split_known(known, 0.1, seed=0)
    >>> int(held.sum()), bool((fit | held).all()), bool((fit & held).any())
    (10, True, False)
    """
    known = np.asarray(known, bool)
    idx = np.flatnonzero(known)
    n = min(len(idx), max(1, round(fraction * len(idx)))) if len(idx) else 0
    held = np.zeros(known.size, bool)
    held[np.random.default_rng(seed).choice(idx, n, replace=False)] = True
    held = held.reshape(known.shape)
    return known & ~held, held


def blend_weight(image: np.ndarray, fill: np.ndarray, y: np.ndarray, held: np.ndarray) -> float:
    """The weight w in [0, 1] of ``fill`` in ``(1 - w) image + w fill`` that best reproduces ``y`` on the
    ``held (H, W)`` pixels (least squares, closed form, clipped); ``image``, ``fill``, ``y``: (C, H, W).
    Both estimates must have been made without the held pixels for w to measure how they generalise.

    >>> y = np.zeros((1, 2, 2)); held = np.ones((2, 2), bool)
    >>> blend_weight(y + 1, y - 1, y, held), blend_weight(y, y + 1, y, held), blend_weight(y + 1, y, y, held)
    (0.5, 0.0, 1.0)
    """
    held = np.asarray(held, bool)
    a = np.asarray(image, np.float64)[:, held]
    d = np.asarray(fill, np.float64)[:, held] - a
    r = np.asarray(y, np.float64)[:, held] - a
    den = float((d * d).sum())
    return 0.0 if den == 0 else float(np.clip((d * r).sum() / den, 0.0, 1.0))
