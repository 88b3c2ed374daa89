"""Experiments that show what an unlearned prior prefers; each writes a figure (PNG) and its numbers (CSV).

``run(name, out_dir, seed=0, quick=False) -> dict`` runs one of `EXPERIMENTS`; the returned dict
summarises the claim the figure shows (the tests check it on ``quick`` runs).
"""

from __future__ import annotations

import csv
from pathlib import Path

EXPERIMENTS = {
    "impedance": "image_priors.experiments.impedance",
    "dd-noise-bound": "image_priors.experiments.noise_bound",
    "early-stopping": "image_priors.experiments.early_stopping",
    "spectral-bias": "image_priors.experiments.spectral_bias",
    "learned-vs-unlearned": "image_priors.experiments.learned_vs_unlearned",
}


def run(name: str, out_dir, seed: int = 0, quick: bool = False) -> dict:
    """Run experiment ``name`` writing ``<name>.png`` and ``<name>.csv`` into ``out_dir``."""
    import importlib

    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return importlib.import_module(EXPERIMENTS[name]).run(out, seed=seed, quick=quick)


def write_csv(path, header, rows) -> None:
    """Write rows under a header, atomically."""
    from dgp.util import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_image(size: int, gray: bool = False):
    """A centre crop of scikit-image's astronaut, ``(C, size, size)`` float32 in [0, 1]."""
    import numpy as np
    from skimage import data
    from skimage.transform import resize

    img = data.astronaut()[60:440, 60:440] / 255.0
    img = resize(img, (size, size), anti_aliasing=True)
    if gray:
        img = img.mean(-1, keepdims=True)
    return np.moveaxis(img, -1, 0).astype(np.float32)


def figure(ncols: int = 1, width: float = 5.0, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
