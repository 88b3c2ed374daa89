"""Stopping rules for fitting an untrained prior: when to stop, and which iterate to return.

Each rule sees, after every step, the step number, the current output image, the training loss
and (if kept) the held-out error, and answers whether to stop; ``chosen`` is the step whose
output the rule selects. They work on plain numbers and arrays, so they can be tested on
synthetic curves.

>>> rule = Discrepancy(sigma=0.1)
>>> [rule.update(i, None, loss) for i, loss in enumerate([0.5, 0.1, 0.009])]
[False, False, True]
>>> rule.chosen
2
"""

from __future__ import annotations

from collections import deque

import numpy as np


class Rule:
    """Base: never stops early; chooses the last step."""

    name = "fixed"

    def __init__(self):
        self.chosen = None

    def update(self, step: int, output, loss: float, heldout: float | None = None) -> bool:
        self.chosen = step
        return False


class FixedBudget(Rule):
    """Run the whole budget; return the last iterate."""


class VarianceWindow(Rule):
    """ES-WMV: the running variance of the outputs over a window of ``window`` steps falls while the
    network fits the image and rises when it starts fitting noise; stop once it has not reached a
    new minimum for ``patience`` steps, and return the output at the minimum.

    ``output`` must be an array (the current image); the variance is the mean over pixels of the
    variance over the window.
    """

    name = "variance"

    def __init__(self, window: int = 50, patience: int = 200):
        super().__init__()
        self.window, self.patience = window, patience
        self.buf = deque(maxlen=window)
        self.sum = self.sumsq = None
        self.best = np.inf
        self.best_step = None
        self.history = []

    def update(self, step, output, loss, heldout=None):
        # running sums over the window: O(pixels) per step whatever the window length
        x = np.asarray(output, np.float64).ravel()
        if self.sum is None:
            self.sum, self.sumsq = np.zeros_like(x), np.zeros_like(x)
        if len(self.buf) == self.window:
            old = self.buf[0]
            self.sum -= old
            self.sumsq -= old * old
        self.buf.append(x)
        self.sum += x
        self.sumsq += x * x
        if len(self.buf) < self.window:
            self.history.append(np.nan)
            return False
        mean = self.sum / self.window
        var = float(np.maximum(self.sumsq / self.window - mean * mean, 0.0).mean())
        self.history.append(var)
        if var < self.best:
            self.best, self.best_step = var, step - self.window // 2  # the window's centre
            self.chosen = max(self.best_step, 0)
        return step - (self.best_step + self.window // 2) >= self.patience


class HeldOut(Rule):
    """Keep a few percent of the measurements out of the loss; stop when their error has not improved
    for ``patience`` steps; return the iterate with the lowest held-out error."""

    name = "holdout"

    def __init__(self, patience: int = 200):
        super().__init__()
        self.patience = patience
        self.best = np.inf

    def update(self, step, output, loss, heldout=None):
        if heldout is None:
            raise ValueError("the held-out rule needs held-out measurements")
        if heldout < self.best:
            self.best, self.chosen = heldout, step
        return step - self.chosen >= self.patience


class Discrepancy(Rule):
    """Morozov's discrepancy principle: stop at the first step whose mean squared residual
    ‖F(x) − y‖²/m is at most ``tau · sigma²``: fitting further can only fit noise."""

    name = "discrepancy"

    def __init__(self, sigma: float, tau: float = 1.0):
        super().__init__()
        if sigma <= 0:
            raise ValueError("the discrepancy rule needs the noise level sigma > 0")
        self.threshold = tau * sigma**2

    def update(self, step, output, loss, heldout=None):
        self.chosen = step
        return loss <= self.threshold


def estimate_sigma(y) -> float:
    """The standard deviation of white Gaussian noise in an image ``y (C, H, W)`` on the [0, 1] scale,
    from its finest wavelet detail (the median absolute deviation of the diagonal Daubechies-1
    coefficients over 0.6745, Donoho and Johnstone; scikit-image's ``estimate_sigma``), averaged over
    the channels. Texture finer than a pixel pair reads as noise, so it overestimates on fine textures.
    """
    from skimage.restoration import estimate_sigma as _wavelet_sigma

    y = np.asarray(y, np.float64)
    if y.ndim != 3:
        raise ValueError(f"estimate_sigma needs a (C, H, W) image, got shape {y.shape}")
    return float(_wavelet_sigma(np.moveaxis(y, 0, -1), channel_axis=-1, average_sigmas=True))


class VarianceOrDiscrepancy(Rule):
    """Whichever of the windowed-variance rule and the discrepancy principle stops first (the
    discrepancy's step on a tie), returning that rule's choice: the variance rule's minimum on images
    whose iterates settle, the discrepancy's step on textures, whose variance keeps falling
    (`benchmarks/denoise_stop.py`'s ``var/disc τ``). Until one stops, ``chosen`` follows the variance
    rule's minimum, so a fit keeps that output in case the variance rule stops first; where neither
    stops within the budget, that minimum is returned, as by the variance rule alone (the benchmark's
    ``var/disc τ`` reads the last step there; no fit of its record got that far).

    >>> rule = VarianceOrDiscrepancy(sigma=0.1, window=2, patience=3)
    >>> [rule.update(i, np.zeros(4), loss) for i, loss in enumerate([0.5, 0.1, 0.009])]
    [False, False, True]
    >>> rule.chosen
    2
    """

    name = "variance-or-discrepancy"

    def __init__(self, sigma: float, tau: float = 1.0, window: int = 50, patience: int = 200):
        super().__init__()
        self.variance = VarianceWindow(window, patience)
        self.discrepancy = Discrepancy(sigma, tau)

    def update(self, step, output, loss, heldout=None):
        var_stops = self.variance.update(step, output, loss, heldout)
        if self.discrepancy.update(step, output, loss, heldout):
            self.chosen = step
            return True
        self.chosen = self.variance.chosen
        return var_stops


RULES = ("fixed", "variance", "holdout", "discrepancy", "variance-or-discrepancy")
#: the rules that need the noise level (``sigma``)
SIGMA_RULES = ("discrepancy", "variance-or-discrepancy")


def make_rule(name: str, sigma: float | None = None, **kw) -> Rule:
    """A rule by name (one of `RULES`); ``sigma``: the noise level, for the rules of `SIGMA_RULES`."""
    if name == "fixed":
        return FixedBudget()
    if name == "variance":
        return VarianceWindow(**kw)
    if name == "holdout":
        return HeldOut(**kw)
    if name in SIGMA_RULES:
        if sigma is None:
            from dgp.settings import SettingError

            raise SettingError("sigma", f"(the noise level) is needed by the {name} stopping rule")
        return Discrepancy(sigma, **kw) if name == "discrepancy" else VarianceOrDiscrepancy(sigma, **kw)
    raise ValueError(f"unknown stopping rule {name!r}; choose from {', '.join(RULES)}")
