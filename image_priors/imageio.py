"""Reading and writing images as float arrays ``(C, H, W)`` in [0, 1]; clear errors; atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dgp.errors import InputError


def read_image(path, gray: bool = False) -> np.ndarray:
    """Read an image file as ``(C, H, W)`` float32 in [0, 1] (C = 3, or 1 with ``gray``); alpha is dropped."""
    from skimage import io
    from skimage.color import gray2rgb, rgb2gray

    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    try:
        img = io.imread(str(path))
    except Exception as exc:
        raise InputError(f"cannot be read as an image ({type(exc).__name__})", path) from None
    img = np.asarray(img)
    if img.ndim not in (2, 3) or img.size == 0 or (img.ndim == 3 and img.shape[-1] not in (1, 3, 4)):
        raise InputError(f"unsupported image shape {img.shape}", path)
    scale = 255.0 if img.dtype == np.uint8 else 65535.0 if img.dtype == np.uint16 else 1.0
    img = img.astype(np.float32) / scale
    if img.ndim == 3 and img.shape[-1] == 4:
        img = img[..., :3]
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if gray:
        img = rgb2gray(img) if img.ndim == 3 else img
        return np.clip(img, 0, 1)[None].astype(np.float32)
    if img.ndim == 2:
        img = gray2rgb(img)
    return np.clip(np.moveaxis(img, -1, 0), 0, 1).astype(np.float32)


def write_image(path, img: np.ndarray) -> None:
    """Write ``(C, H, W)`` or ``(H, W)`` values in [0, 1] as an 8-bit PNG (or by extension), atomically."""
    from skimage import io

    from dgp.util import atomic_path

    arr = np.asarray(img, np.float64)
    if arr.ndim == 3:
        arr = arr[0] if arr.shape[0] == 1 else np.moveaxis(arr, 0, -1)
    out = (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
    with atomic_path(path) as tmp:
        io.imsave(str(tmp), out, check_contrast=False)
