"""Fitting a large image tile by tile: overlapping tiles, one prior each, blended at the seams.

A prior fit to a whole photograph costs memory and time in proportion to its pixels (a
1024x1024 photograph took 8.5 GB and 35 s a step for DIP on a 2-core CPU). Cut into tiles, each
tile is an ordinary small fit (`Operator.tile` gives its operator and observation), and the
outputs are averaged where tiles overlap with weights that fall linearly to zero towards each
tile's inner edges, so no seam shows. Compressed sensing measures the whole image at once and
cannot be tiled.

>>> tile_starts(100, 40, 8)
[0, 30, 60]
>>> ramp(6, 2, first=True, last=False).tolist()
[1.0, 1.0, 1.0, 1.0, 0.6666666666666666, 0.3333333333333333]
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

#: the tile side when a whole image does not fit in memory (--tile auto)
DEFAULT_TILE = 256
#: pixels neighbouring tiles share, blended
DEFAULT_OVERLAP = 32


def tile_starts(n: int, tile: int, overlap: int, step: int = 1) -> list:
    """Starts of tiles of side ``tile`` covering ``[0, n)``, neighbours sharing at least ``overlap``
    pixels, spread evenly; each start a multiple of ``step``."""
    if n <= tile:
        return [0]
    count = math.ceil((n - overlap) / (tile - overlap))
    starts = [int(round(i * (n - tile) / (count - 1) / step)) * step for i in range(count)]
    starts[-1] = n - tile
    return starts


def ramp(length: int, overlap: int, first: bool, last: bool) -> np.ndarray:
    """(length,) blending weights of a tile along one axis: 1 inside, falling linearly towards an
    inner edge over ``overlap`` pixels (never to 0), flat at the image's own edges."""
    w = np.ones(length)
    if overlap > 0:
        fall = np.arange(overlap, 0, -1) / (overlap + 1)  # overlap/(overlap+1) ... 1/(overlap+1)
        if not last:
            w[-overlap:] = np.minimum(w[-overlap:], fall)
        if not first:
            w[:overlap] = np.minimum(w[:overlap], fall[::-1])
    return w


def shared(tile: int, overlap: int) -> int:
    """The overlap used with tiles of side ``tile``: ``overlap``, at most a quarter of the tile."""
    return min(int(overlap), int(tile) // 4)


def tiles(shape, tile: int, overlap: int, step: int = 1) -> list:
    """``(y0, y1, x0, x1)`` of the tiles of an image of ``shape (C, H, W)`` (overlap: `shared`)."""
    _, h, w = shape
    overlap = shared(tile, overlap)
    th, tw = min(tile, h), min(tile, w)
    return [
        (y0, y0 + th, x0, x0 + tw)
        for y0 in tile_starts(h, th, overlap, step)
        for x0 in tile_starts(w, tw, overlap, step)
    ]


def fit_tiles(fit_region: Callable, shape, tile: int, overlap: int = DEFAULT_OVERLAP, step: int = 1, report=print):
    """Fit an image of ``shape (C, H, W)`` tile by tile and blend the tiles.

    fit_region : ``fit_region(y0, y1, x0, x1) -> (C, y1 - y0, x1 - x0)`` output of the fit of that region
    tile, overlap : tile side and shared pixels (at most a quarter of the tile: `shared`)
    step : tile bounds are multiples of it (`Operator.tile_step`); report : called with a line per tile

    Returns (C, H, W) float32.
    """
    c, h, w = shape
    boxes = tiles(shape, tile, overlap, step)
    overlap = shared(tile, overlap)
    total = np.zeros((c, h, w))
    weight = np.zeros((h, w))
    for i, (y0, y1, x0, x1) in enumerate(boxes):
        if report:
            report(f"tile {i + 1}/{len(boxes)}: rows {y0}-{y1}, columns {x0}-{x1}")
        out = np.asarray(fit_region(y0, y1, x0, x1), dtype=np.float64)
        wy = ramp(y1 - y0, overlap, y0 == 0, y1 == h)
        wx = ramp(x1 - x0, overlap, x0 == 0, x1 == w)
        wt = wy[:, None] * wx[None, :]
        total[:, y0:y1, x0:x1] += out * wt
        weight[y0:y1, x0:x1] += wt
    return (total / weight).astype(np.float32)
