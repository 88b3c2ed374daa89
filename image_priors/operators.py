"""Forward operators y = F(x) on ``(B, C, H, W)`` tensors, each with its adjoint, and noise.

Every operator is linear and has ``forward(x)`` and ``adjoint(y)`` with
⟨F x, y⟩ = ⟨x, Fᵀ y⟩ (`check_adjoint` tests it); noise is applied separately
(`add_noise`), so one operator serves noiseless and noisy experiments. Operators are
``torch.nn.Module``s whose tensors are registered buffers: ``op.to(device)`` and
``op.double()`` move and cast them, and an operator works on tensors of its own device and
dtype (as deepinv's physics operators do).

>>> import torch
>>> op = Downsample(4, "lanczos")
>>> op(torch.ones(1, 3, 32, 32)).shape
torch.Size([1, 3, 8, 8])
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from dgp.errors import InputError


class Operator(torch.nn.Module):
    """A linear forward model. Subclasses implement ``forward`` and ``adjoint`` and register
    their tensors as buffers."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    #: the image's side lengths a tile's start and size must be multiples of (`tile`)
    tile_step = 1

    def pinv(self, r: torch.Tensor, iters: int = 50, tol: float = 1e-6) -> torch.Tensor:
        """A⁺ r: the least-norm image whose measurements come closest to ``r`` (shape of ``op(x)``),
        returned as ``(B, C, H, W)``. Computed as Aᵀ u with A Aᵀ u = r solved by conjugate gradients
        (relative residual ``tol``); exact after one iteration where A Aᵀ is a projection (masks,
        crops, orthonormal-row sensing), a few dozen for a downsampling filter.

        >>> op = Downsample(4)
        >>> y = torch.rand(1, 3, 8, 8)
        >>> float((op(op.pinv(y)) - y).abs().max()) < 1e-4
        True
        """
        u = torch.zeros_like(r)
        res = r.clone()
        p = res.clone()
        rs = float((res * res).sum())
        floor = tol * tol * rs
        for _ in range(iters):
            if rs <= floor or rs == 0.0:
                break
            ap = self.forward(self.adjoint(p))
            alpha = rs / float((p * ap).sum())
            u = u + alpha * p
            res = res - alpha * ap
            rs_new = float((res * res).sum())
            p = res + (rs_new / rs) * p
            rs = rs_new
        return self.adjoint(u)

    def tile(self, y: torch.Tensor, y0: int, y1: int, x0: int, x1: int):
        """``(operator, observation)`` of the image region ``[y0:y1, x0:x1]`` alone, for fitting a
        large image tile by tile (`image_priors.tiles`). Operators that measure the whole image at
        once (compressed sensing) have none: they raise `dgp.settings.SettingError`."""
        from dgp.settings import SettingError

        raise SettingError("tile", f"{type(self).__name__} measures the whole image at once: it cannot be fit in tiles")


class Identity(Operator):
    """F = I (denoising)."""

    def forward(self, x):
        return x

    def adjoint(self, y):
        return y

    def pinv(self, r, iters=50, tol=1e-6):
        return r

    def tile(self, y, y0, y1, x0, x1):
        return Identity(), y[..., y0:y1, x0:x1]


class Mask(Operator):
    """F = pixel mask (inpainting): known pixels are kept, the rest set to 0.

    Parameters
    ----------
    mask : (1 or B, 1 or C, H, W) tensor, non-zero = known pixel (as in DIP's mask files)
    """

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        m = torch.as_tensor(mask)
        while m.dim() < 4:
            m = m[None]
        self.register_buffer("mask", (m != 0).float())

    @classmethod
    def random(cls, shape, drop: float, seed: int = 0) -> "Mask":
        """Drop a fraction ``drop`` of the pixels of an ``(H, W)`` image at random (all channels together)."""
        if not 0 <= drop < 1:
            from dgp.settings import SettingError

            raise SettingError("drop", f"must be in [0, 1), got {drop}")
        gen = torch.Generator().manual_seed(int(seed))
        return cls((torch.rand(*shape, generator=gen) >= drop).float())

    def forward(self, x):
        return x * self.mask

    def adjoint(self, y):
        return y * self.mask

    def pinv(self, r, iters=50, tol=1e-6):
        return r * self.mask

    def tile(self, y, y0, y1, x0, x1):
        return Mask(self.mask[..., y0:y1, x0:x1]), y[..., y0:y1, x0:x1]


class GaussianSensing(Operator):
    """Compressed sensing with a dense Gaussian matrix: y = A vec(x), A ∈ R^{m×n}, entries N(0, 1/m).

    Use it for small images only: A holds m·n floats (a 64² RGB image at m/n = 0.25 is 113 MB
    in float32, a 256² one 4 GB). For larger images use `StructuredSensing`, which plays the same
    role at O(n log n) cost and O(n) memory.

    Parameters
    ----------
    shape : (C, H, W) of one image; ratio : m / n; seed : seeds A
    """

    def __init__(self, shape, ratio: float, seed: int = 0, dtype=torch.float32):
        n = int(np.prod(shape))
        m = max(1, int(round(ratio * n)))
        if n * m > 400_000_000:
            raise InputError(f"a dense {m}x{n} sensing matrix is too large; use the structured operator")
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        self.shape, self.m, self.n = tuple(shape), m, n
        self.register_buffer("A", torch.randn(m, n, generator=gen, dtype=dtype) / math.sqrt(m))

    def forward(self, x):
        return x.reshape(x.shape[0], -1) @ self.A.T

    def adjoint(self, y):
        return (y @ self.A).reshape(y.shape[0], *self.shape)


def _dct_matrix(n: int, dtype=torch.float64) -> torch.Tensor:
    """The orthonormal DCT-II matrix ``(n, n)``."""
    k = torch.arange(n, dtype=dtype)[:, None]
    i = torch.arange(n, dtype=dtype)[None]
    c = torch.cos(math.pi * (i + 0.5) * k / n) * math.sqrt(2.0 / n)
    c[0] /= math.sqrt(2.0)
    return c


class StructuredSensing(Operator):
    """Compressed sensing that scales: random signs, an orthonormal 2-D DCT, then m of the n coefficients.

    A = S C D with D a random ±1 diagonal, C the orthonormal 2-D DCT per channel and S a random
    row selection; its rows are orthonormal (A Aᵀ = I), and like a Gaussian matrix it spreads
    every pixel over all measurements. Cost O(n (H + W)), memory O(n + H² + W²). Note the scale:
    a Gaussian A with N(0, 1/m) entries has A Aᵀ ≈ (n/m) I instead.

    Parameters
    ----------
    shape : (C, H, W); ratio : m / n; seed : seeds D and S
    """

    def __init__(self, shape, ratio: float, seed: int = 0, dtype=torch.float32):
        c, h, w = shape
        n = c * h * w
        m = max(1, int(round(ratio * n)))
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        self.shape, self.m, self.n = tuple(shape), m, n
        self.register_buffer("signs", (torch.randint(0, 2, (1, c, h, w), generator=gen) * 2 - 1).to(dtype))
        self.register_buffer("rows", torch.randperm(n, generator=gen)[:m])
        self.register_buffer("Ch", _dct_matrix(h).to(dtype))
        self.register_buffer("Cw", _dct_matrix(w).to(dtype))

    def forward(self, x):
        z = self.Ch @ (x * self.signs) @ self.Cw.T
        return z.reshape(x.shape[0], -1)[:, self.rows]

    def adjoint(self, y):
        z = torch.zeros(y.shape[0], self.n, dtype=y.dtype, device=y.device)
        z[:, self.rows] = y
        z = z.reshape(y.shape[0], *self.shape)
        return (self.Ch.T @ z @ self.Cw) * self.signs


def _kernel_1d(factor: int, kind: str) -> np.ndarray:
    """Separable anti-aliasing kernel of 4·factor taps, centred between pixels (phase 1/2)."""
    taps = 4 * factor
    x = (np.arange(taps) - (taps - 1) / 2) / factor  # in low-resolution pixels
    if kind == "lanczos":
        a = 2.0
        k = np.sinc(x) * np.sinc(x / a) * (np.abs(x) < a)
    elif kind == "bicubic":
        a = -0.5
        t = np.abs(x)
        k = np.where(
            t <= 1,
            (a + 2) * t**3 - (a + 3) * t**2 + 1,
            np.where(t < 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0.0),
        )
    else:
        raise InputError(f"unknown kernel {kind!r}; choose lanczos or bicubic")
    return k / k.sum()


class Downsample(Operator):
    """Super-resolution forward model: anti-aliasing filter then subsampling by ``factor``.

    The filter is Lanczos (a = 2, as in DIP) or bicubic (Keys, a = -0.5), 4·factor taps, with
    circular boundary handling so that the adjoint is exact and a constant image stays constant.

    Parameters
    ----------
    factor : 2, 4 or 8; kind : "lanczos" or "bicubic"
    """

    def __init__(self, factor: int, kind: str = "lanczos"):
        if factor not in (2, 4, 8):
            raise InputError(f"the factor must be 2, 4 or 8, got {factor}")
        super().__init__()
        self.factor, self.kind = factor, kind
        k = _kernel_1d(factor, kind)
        self.register_buffer("kernel", torch.as_tensor(np.outer(k, k), dtype=torch.float32)[None, None])
        self.pad = (4 * factor - factor) // 2
        self.tile_step = factor

    def tile(self, y, y0, y1, x0, x1):
        """The low-resolution pixels of the region (its bounds are multiples of the factor); the
        filter wraps around at the tile's edges, which the blending of overlapping tiles hides."""
        f = self.factor
        return Downsample(f, self.kind), y[..., y0 // f : y1 // f, x0 // f : x1 // f]

    def _weight(self, x):
        return self.kernel.expand(x.shape[1], 1, -1, -1)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.factor or w % self.factor:
            raise InputError(f"the image size {w}x{h} is not divisible by the factor {self.factor}")
        p = self.pad
        xp = F.pad(x, (p, p, p, p), mode="circular")
        return F.conv2d(xp, self._weight(x), stride=self.factor, groups=x.shape[1])

    def adjoint(self, y):
        p, f = self.pad, self.factor
        h, w = y.shape[-2] * f, y.shape[-1] * f
        full = F.conv_transpose2d(y, self._weight(y), stride=f, groups=y.shape[1])
        full = full[..., : h + 2 * p, : w + 2 * p]
        if full.shape[-2] < h + 2 * p or full.shape[-1] < w + 2 * p:
            full = F.pad(full, (0, w + 2 * p - full.shape[-1], 0, h + 2 * p - full.shape[-2]))
        # adjoint of circular padding: fold the margins back onto the opposite sides
        out = full[..., p : p + h, p : p + w].clone()
        out[..., :, :p] += full[..., p : p + h, w + p :]
        out[..., :, w - p :] += full[..., p : p + h, :p]
        out[..., :p, :] += full[..., h + p :, p : p + w]
        out[..., h - p :, :] += full[..., :p, p : p + w]
        out[..., :p, :p] += full[..., h + p :, w + p :]
        out[..., :p, w - p :] += full[..., h + p :, :p]
        out[..., h - p :, :p] += full[..., :p, w + p :]
        out[..., h - p :, w - p :] += full[..., :p, :p]
        return out


def back_project(op: Operator, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """x + A⁺(y − A x): the image nearest to ``x (B, C, H, W)`` whose measurements are ``y`` (for
    noiseless or nearly noiseless measurements; with noise it puts the noise back). For a mask it
    keeps the known pixels; for super-resolution it makes the result downsample to the input.

    >>> op = Mask(torch.tensor([[1.0, 0.0]]))
    >>> back_project(op, torch.zeros(1, 1, 1, 2), torch.tensor([[[[0.5, 0.0]]]])).flatten().tolist()
    [0.5, 0.0]
    """
    return x + op.pinv(y - op(x))


def measurements_per_channel(op: Operator, shape, seed: int = 0) -> float:
    """How many measurements ``op`` takes of an image of ``shape (C, H, W)``, per channel: the
    entries of ``op(x)`` that depend on x (a mask's dropped pixels do not), divided by C.

    It is the resolution the data pin down: H·W for denoising, (H/f)(W/f) for ×f
    super-resolution, the known pixels for inpainting, m / C for compressed sensing.

    >>> measurements_per_channel(Downsample(4), (3, 128, 128))
    1024.0
    >>> measurements_per_channel(Mask(torch.tensor([[1.0, 0.0], [1.0, 1.0]])), (3, 2, 2))
    3.0
    """
    c, h, w = shape
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.rand(1, c, h, w, generator=gen) + 0.5  # strictly positive: no entry of op(x) is 0 by chance
    with torch.no_grad():
        y = op(x)
    return float((y != 0).sum()) / c


def add_noise(y: torch.Tensor, sigma: float, seed: int = 0, scale255: bool = True) -> torch.Tensor:
    """Additive Gaussian noise of standard deviation ``sigma`` (on the 0–255 scale if ``scale255``)."""
    s = sigma / 255.0 if scale255 else sigma
    gen = torch.Generator().manual_seed(int(seed))
    return y + s * torch.randn(y.shape, generator=gen, dtype=y.dtype).to(y.device)


def check_adjoint(op: Operator, x_shape, y_shape=None, seed: int = 0, dtype=torch.float64) -> float:
    """Relative error |⟨Fx, y⟩ − ⟨x, Fᵀy⟩| / (‖Fx‖ ‖y‖) for random x, y of ``dtype`` (a copy of
    ``op`` is cast to it; ``op`` itself is left as it is)."""
    import copy

    op = copy.deepcopy(op).to(dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(x_shape, generator=gen, dtype=dtype)
    fx = op.forward(x)
    y = torch.randn(fx.shape if y_shape is None else y_shape, generator=gen, dtype=dtype)
    lhs = float((fx * y).sum())
    rhs = float((x * op.adjoint(y)).sum())
    return abs(lhs - rhs) / max(float(fx.norm() * y.norm()), 1e-300)


class Crop(Operator):
    """Keep the top-left ``(H, W)`` of a larger image (lets a prior of a convenient size fit any image)."""

    def __init__(self, h: int, w: int, full_h: int, full_w: int):
        super().__init__()
        self.h, self.w, self.full = h, w, (full_h, full_w)

    def forward(self, x):
        return x[..., : self.h, : self.w]

    def adjoint(self, y):
        return F.pad(y, (0, self.full[1] - self.w, 0, self.full[0] - self.h))


class Compose(Operator):
    """``Compose(A, B)(x) = A(B(x))``; the adjoint is ``Bᵀ(Aᵀ(y))``."""

    def __init__(self, *ops: Operator):
        super().__init__()
        self.ops = torch.nn.ModuleList(ops)

    def forward(self, x):
        for op in reversed(self.ops):
            x = op.forward(x)
        return x

    def adjoint(self, y):
        for op in self.ops:
            y = op.adjoint(y)
        return y
