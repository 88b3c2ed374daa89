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


def wavelet_fista(op, y, shape, lam: float, iters: int = 200, wavelet: str = "db4", level: int = 3) -> np.ndarray:
    """The sparsity baseline of compressed sensing (and of any linear ``op``): argmin_x 0.5 ||A x - y||^2
    + lam ||W x||_1 over orthonormal wavelet coefficients W x (the coarse band unpenalised), by FISTA
    with step 1 / ||A||^2 (power iteration). ``y``: (1, ...) measurements, ``op(x)`` of a (1, C, H, W)
    image; ``shape (C, H, W)``; returns ``(C, H, W)`` float32 clipped to [0, 1]. ``level`` is lowered
    to what the image's size allows."""
    import pywt
    import torch

    level = min(level, pywt.dwtn_max_level(shape[1:], wavelet))

    def synth(c):
        return np.stack([pywt.waverec2(pywt.array_to_coeffs(ci, sl, "wavedec2"), wavelet, "periodization") for ci in c])

    def analyse(x):
        arrs = [pywt.coeffs_to_array(pywt.wavedec2(xi, wavelet, "periodization", level=level)) for xi in x]
        return np.stack([a for a, _ in arrs]), arrs[0][1]

    def A(x):
        return op(torch.as_tensor(x, dtype=torch.float32)[None])

    def At(r):
        return op.adjoint(r)[0].double().numpy()

    v = np.random.default_rng(0).standard_normal(shape)
    for _ in range(30):
        v = At(A(v))
        L = float(np.linalg.norm(v))
        v /= L
    c, sl = analyse(np.zeros(shape))
    coarse = np.zeros(c.shape[1:], bool)
    coarse[sl[0][0], sl[0][1]] = True
    z, t = c.copy(), 1.0
    for _ in range(iters):
        grad, _ = analyse(At(A(synth(z)) - y))
        u = z - grad / L
        c_new = np.where(coarse, u, np.sign(u) * np.maximum(np.abs(u) - lam / L, 0))
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = c_new + (t - 1) / t_new * (c_new - c)
        c, t = c_new, t_new
    return np.clip(synth(c), 0, 1).astype(np.float32)


def tv_least_squares(op, y, shape, lam: float, iters: int = 500, lr: float = 0.01, eps: float = 1e-3) -> np.ndarray:
    """The total-variation baseline for any linear ``op``: argmin_x 0.5 ||A x - y||^2 / m + lam · TV(x),
    TV the mean over pixels of the isotropic gradient magnitude sqrt(dx² + dy² + eps²) (smoothed so
    that plain gradient steps apply), by Adam from the minimum-norm solution A⁺y, clipped to [0, 1].
    ``y``: (1, ...) measurements (m entries); ``shape (C, H, W)``; returns ``(C, H, W)`` float32.

    >>> import torch
    >>> from image_priors.operators import Mask
    >>> op = Mask(torch.tensor([[1.0, 0.0, 1.0]]))
    >>> x = tv_least_squares(op, op(torch.tensor([[[[0.2, 0.9, 0.4]]]])), (1, 1, 3), lam=0.01, iters=300)
    >>> bool(abs(x[0, 0, 1] - 0.3) < 0.05)   # the dropped pixel: between its neighbours
    True
    """
    import torch

    x = torch.nn.Parameter(op.pinv(y).detach().clamp(0, 1).reshape(1, *shape).float().clone())
    opt = torch.optim.Adam([x], lr=lr)
    m, (h, w) = y.numel(), shape[-2:]

    def sq_gradient(x):
        """dx² + dy² on the (H-1)×(W-1) pixels that have both; one of them for a single row or column."""
        if h > 1 and w > 1:
            return torch.diff(x, dim=-1)[..., :-1, :] ** 2 + torch.diff(x, dim=-2)[..., :, :-1] ** 2
        return torch.diff(x, dim=-1 if w > 1 else -2) ** 2

    for _ in range(iters):
        tv = torch.sqrt(sq_gradient(x) + eps**2).mean()
        loss = 0.5 * ((op(x) - y) ** 2).sum() / m + lam * tv
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.clip(x.detach()[0].numpy(), 0, 1).astype(np.float32)
