"""Long runs (`bash scripts/test.sh --slow`): the default reconstruction of the sample bunny."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_default_bunny_reconstruction_is_accurate():
    import dgp
    from dgp.io import read_mesh
    from dgp.metrics import compare_meshes

    rec = dgp.reconstruct(dgp.read_points(ROOT / "data" / "bunny_noisy.ply"), dgp.ReconstructionConfig(progress=False))
    res = compare_meshes(rec.mesh(), read_mesh(ROOT / "data" / "bunny_gt.ply"))
    # measured with the defaults: Chamfer-L1 2.06e-3, Hausdorff 0.019, F-score 0.99 (noise is 5e-3)
    assert res["chamfer_l1"] < 2.5e-3
    assert res["hausdorff"] < 0.03
    assert res["fscore"] > 0.97
