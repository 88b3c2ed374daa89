"""Deep Geometric Prior: surface reconstruction from noisy points with untrained per-patch MLPs.

Heavy dependencies (torch, open3d, POT) load only when the function that needs them runs,
so ``import dgp`` is fast.

>>> import dgp
>>> sorted(n for n in dgp.__all__)[:3]
['BatchedMLP', 'InputError', 'PointCloud']
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "PointCloud": "dgp.pointcloud",
    "InputError": "dgp.errors",
    "read_points": "dgp.io",
    "write_points": "dgp.io",
    "read_mesh": "dgp.io",
    "write_mesh": "dgp.io",
    "estimate_normals": "dgp.normals",
    "BatchedMLP": "dgp.coordmlp",
    "ReconstructionConfig": "dgp.reconstruction",
    "Reconstruction": "dgp.reconstruction",
    "reconstruct": "dgp.reconstruction",
}
__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dgp' has no attribute {name!r}")
