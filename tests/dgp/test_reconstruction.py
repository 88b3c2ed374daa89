"""Tests of `dgp.reconstruction`."""

import numpy as np
import pytest
import torch

import dgp
from dgp.metrics import compare_points
from dgp.reconstruction import Reconstruction, ReconstructionConfig
from dgp.settings import SettingError

FAST = dict(
    radius=0.1,
    padding=1.5,
    min_points=10,
    widths=(2, 64, 64, 3),
    local_steps=200,
    consistency_steps=30,
    match_every=25,
    lr=1e-2,
    density=8,
    poisson_depth=6,
    device="cpu",
    progress=False,
)


def test_plan_chunks_covers_every_patch_once_with_tight_padding():
    from dgp.reconstruction import plan_chunks

    counts = np.random.default_rng(1).integers(20, 401, size=300)
    chunks = plan_chunks(counts, batch_size=64)
    seen = np.concatenate([idx for idx, _ in chunks])
    assert np.array_equal(np.sort(seen), np.arange(300))
    for idx, k in chunks:
        assert len(idx) <= 64 and k == counts[idx].max()
    padded = sum(len(idx) * k for idx, k in chunks)
    assert padded < 0.85 * 300 * counts.max()  # far less padding than one box of the largest patch
    assert [len(i) for i, _ in plan_chunks(counts, batch_size=512, slack=0.0)] == [300]


@pytest.fixture(scope="module")
def sphere_rec(sphere_points):
    rng = np.random.default_rng(0)
    pts, nrm = sphere_points(1500, rng, noise=0.01)
    torch.set_num_threads(2)
    return dgp.reconstruct(dgp.PointCloud(pts, nrm), ReconstructionConfig(**FAST))


def test_sphere_mesh_is_close_and_closed(sphere_rec, sphere_points):
    mesh = sphere_rec.mesh(trim=0)
    assert mesh.is_watertight
    r = np.linalg.norm(mesh.vertices, axis=1)
    assert np.abs(r - 1).mean() < 0.02

    rng = np.random.default_rng(5)
    truth, _ = sphere_points(20000, rng)
    res = compare_points(mesh.sample(20000), truth)
    assert res["chamfer_l1"] < 0.01 and res["hausdorff"] < 0.05


def test_dense_samples_denoise(sphere_rec):
    dense = sphere_rec.sample()
    err = np.abs(np.linalg.norm(dense.points, axis=1) - 1)
    # the input noise is 0.01 per coordinate: its mean |radial| part is 0.008 (measured here: 0.0057)
    assert err.mean() < 0.007
    radial = dense.points / np.linalg.norm(dense.points, axis=1, keepdims=True)
    assert np.mean(np.sum(dense.normals * radial, axis=1)) > 0.95  # analytic normals, outward


def test_chart_mesh_coloured(sphere_rec):
    m = sphere_rec.chart_mesh()
    assert len(m.faces) > 0
    assert len(np.unique(m.visual.face_colors[:, :3], axis=0)) > 1


def test_save_load_sample_identical(sphere_rec, tmp_path):
    sphere_rec.save(tmp_path / "s.pt")
    back = Reconstruction.load(tmp_path / "s.pt")
    a, b = sphere_rec.sample(6), back.sample(6)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.normals, b.normals)


def test_same_seed_same_output(sphere_points):
    rng = np.random.default_rng(1)
    pts, nrm = sphere_points(600, rng, noise=0.01)
    cfg = dict(FAST, local_steps=40, consistency_steps=10)
    a = dgp.reconstruct(dgp.PointCloud(pts, nrm), ReconstructionConfig(**cfg)).sample(5)
    b = dgp.reconstruct(dgp.PointCloud(pts, nrm), ReconstructionConfig(**cfg)).sample(5)
    np.testing.assert_array_equal(a.points, b.points)
    c = dgp.reconstruct(dgp.PointCloud(pts, nrm), ReconstructionConfig(**dict(cfg, seed=1))).sample(5)
    assert not np.array_equal(a.points[: len(c.points)], c.points[: len(a.points)])
    # scipy's exact matching finds POT's matchings, so the whole reconstruction is the same
    d = dgp.reconstruct(dgp.PointCloud(pts, nrm), ReconstructionConfig(**dict(cfg, matching="lsa"))).sample(5)
    np.testing.assert_array_equal(a.points, d.points)


def test_missing_normals_are_estimated(sphere_points):
    rng = np.random.default_rng(2)
    pts, _ = sphere_points(600, rng, noise=0.005)
    rec = dgp.reconstruct(dgp.PointCloud(pts), ReconstructionConfig(**dict(FAST, local_steps=30, consistency_steps=0)))
    assert rec.normals.shape == pts.shape
    assert np.mean(np.sum(rec.normals * rec.points, axis=1) > 0) > 0.95  # outward


def test_batches_bound_the_chunk(sphere_points):
    rng = np.random.default_rng(3)
    pts, nrm = sphere_points(600, rng, noise=0.005)
    rec = dgp.reconstruct(
        dgp.PointCloud(pts, nrm), ReconstructionConfig(**dict(FAST, local_steps=20, consistency_steps=5, batch_size=4))
    )
    assert rec.fitted.all() and rec.charts.weights[0].shape[0] == len(rec.patches)


def test_interrupt_keeps_the_chunks_already_fitted(monkeypatch, sphere_points):
    # Ctrl-C during the second chunk: the first chunk's charts are kept and can be sampled
    import dgp.fit
    import dgp.reconstruction as rmod

    rng = np.random.default_rng(3)
    pts, nrm = sphere_points(800, rng, noise=0.01)
    real, calls = dgp.fit.fit_local, []

    def fit_then_interrupt(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(dgp.fit, "fit_local", fit_then_interrupt)
    cfg = ReconstructionConfig(**{**FAST, "local_steps": 20, "consistency_steps": 5, "batch_size": 8})
    rec = dgp.reconstruct(dgp.PointCloud(pts, nrm), cfg)
    first, _ = rmod.plan_chunks(rec.patches.counts, cfg.batch_size)[0]
    assert rec.interrupted and rec.fitted.sum() == len(first) and rec.fitted[first].all()
    assert len(rec.sample().points) > 0


def test_min_density_trims_the_fringe_beyond_an_open_rim():
    # an open noisy square sheet: the noise spreads points past its edges, and charts follow
    # them; min_density drops the thinned-out fringe and keeps the sheet itself covered (the
    # noise is as large as the spacing here, so the rule applies in full)
    rng = np.random.default_rng(3)
    n = 3000
    pts = np.c_[rng.uniform(-1, 1, size=(n, 2)), np.zeros(n)] + 0.06 * rng.normal(size=(n, 3))
    rec = dgp.reconstruct(
        dgp.PointCloud(pts, np.tile([0, 0, 1.0], (n, 1))),
        ReconstructionConfig(**{**FAST, "radius": 0.15, "min_density": 0.0}),
    )
    h = dgp.patches.surface_spacing(rec.points)
    assert rec.sigma >= h  # min(1, noise / spacing) = 1
    loose = rec.sample().points
    rec.config.min_density = 0.5
    tight = rec.sample().points
    beyond = lambda s: np.clip(np.abs(s[:, :2]).max(1) - 1, 0, None)  # noqa: E731
    assert len(tight) < len(loose)
    assert beyond(tight).mean() < 0.5 * beyond(loose).mean()
    # the sheet itself keeps its samples (a stray one may fall where the density fluctuates low)
    inside = lambda s: (np.abs(s[:, :2]).max(1) < 0.9).sum()  # noqa: E731
    assert inside(tight) >= 0.98 * inside(loose)


def test_watertight_closes_an_open_scan():
    """A hemisphere (an open scan) keeps its rim by default (boundary edges) and is closed with
    ``watertight``; the closed mesh still passes through the scanned half."""
    from dgp.metrics import boundary_edges, surface_distances

    rng = np.random.default_rng(5)
    d = rng.normal(size=(3000, 3))
    d[:, 2] = np.abs(d[:, 2])
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    rec = dgp.reconstruct(dgp.PointCloud(d, d), ReconstructionConfig(**{**FAST, "radius": 0.15}))
    assert boundary_edges(rec.mesh(depth=6)) > 0
    rec.config.watertight = True
    closed = rec.mesh(depth=6)
    assert boundary_edges(closed) == 0 and closed.is_watertight
    assert np.median(surface_distances(closed, d)[0]) < 0.05


def test_auto_fit_settings_follow_the_noise_over_the_spacing():
    # the longer, faster local fit and no normal term where the noise is small beside the spacing,
    # the noisy budget and the term where it is not; a set value is kept
    from dgp.patches import BUDGET_RHO, LOW_NOISE_BUDGET, NOISY_BUDGET, NORMAL_RHO, NORMAL_WEIGHT
    from dgp.reconstruction import resolve_auto

    spacing = 0.01
    low = resolve_auto(ReconstructionConfig(), 0.5 * min(BUDGET_RHO, NORMAL_RHO) * spacing, spacing)
    high = resolve_auto(ReconstructionConfig(), 2 * max(BUDGET_RHO, NORMAL_RHO) * spacing, spacing)
    assert (low.local_steps, low.lr, low.normal_weight) == (*LOW_NOISE_BUDGET, 0.0)
    assert (high.local_steps, high.lr, high.normal_weight) == (*NOISY_BUDGET, NORMAL_WEIGHT)
    # the schedule changes with the budget: the noisy fits keep their constant rate
    assert (low.lr_schedule, high.lr_schedule) == ("step", "constant")
    assert LOW_NOISE_BUDGET[0] > NOISY_BUDGET[0]
    kept = resolve_auto(ReconstructionConfig(local_steps=3, normal_weight=0.01), 0.0, spacing)
    assert (kept.local_steps, kept.lr, kept.normal_weight) == (3, LOW_NOISE_BUDGET[1], 0.01)
    kept.fit_config()  # every auto resolved
    assert ReconstructionConfig().local_steps == "auto" and ReconstructionConfig().lr == "auto"
    assert ReconstructionConfig().lr_schedule == "auto"
    with pytest.raises(SettingError):
        ReconstructionConfig(lr_schedule="cosine").validate()
    # the mesh follows the input points where they are clean, the charts where they are noisy
    from dgp.patches import LOW_NOISE_MESH_FROM

    assert (low.mesh_from, high.mesh_from) == (LOW_NOISE_MESH_FROM, "charts")
    assert resolve_auto(ReconstructionConfig(mesh_from="union"), 0.0, spacing).mesh_from == "union"
    with pytest.raises(SettingError):
        ReconstructionConfig(mesh_from="points").validate()
    with pytest.raises(SettingError):
        ReconstructionConfig(local_steps=-1).validate()
    with pytest.raises(SettingError):
        ReconstructionConfig(lr=0).validate()


def test_normal_weight_auto_follows_the_noise_over_the_spacing(sphere_points):
    # auto: the normal term is off where the noise is small beside the spacing, on where it is not;
    # the state records the weight the charts were fit with
    from dgp.patches import NORMAL_RHO, NORMAL_WEIGHT

    n = 2000
    spacing = np.sqrt(4 * np.pi / n)  # the side of the area per point on the unit sphere
    quick = {**FAST, "local_steps": 2, "consistency_steps": 0}
    for noise, weight in [(0.0, 0.0), (3 * NORMAL_RHO * spacing, NORMAL_WEIGHT)]:
        pts, nrm = sphere_points(n, np.random.default_rng(0), noise=noise)
        rec = dgp.reconstruct(dgp.PointCloud(pts, nrm), ReconstructionConfig(**quick))
        assert rec.config.normal_weight == weight, noise
    fixed = dgp.reconstruct(dgp.PointCloud(pts, nrm), ReconstructionConfig(**quick, normal_weight=0.02))
    assert fixed.config.normal_weight == 0.02
    with pytest.raises(ValueError):
        ReconstructionConfig().fit_config()


def test_mesh_from_the_input_points_sits_on_clean_points_the_charts_cut_chords_of():
    from dgp.patches import LOW_NOISE_MESH_FROM

    # a clean sphere fit by small charts: the charts' piecewise-linear samples lie off the sphere,
    # the input points on it; meshed from the points (with the charts' normals) the surface is
    # closer, meshed from both it lies between; the charts' trim holds for every choice
    rng = np.random.default_rng(0)
    d = rng.normal(size=(3000, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    cfg = ReconstructionConfig(**{**FAST, "local_steps": 60, "consistency_steps": 10, "radius": 0.2})
    rec = dgp.reconstruct(dgp.PointCloud(d, d), cfg)
    assert rec.config.mesh_from == LOW_NOISE_MESH_FROM  # noise-free: resolved from the cloud
    off = {}
    for choice in ("charts", "union", "input"):
        rec.config.mesh_from = choice
        v = rec.mesh().vertices
        off[choice] = float(np.abs(np.linalg.norm(v, axis=1) - 1).mean())
    assert off["input"] < off["union"] < off["charts"]
    assert off["input"] < 0.5 * off["charts"]
    # a state from before the setting (mesh_from auto) resolves it from its cloud
    rec.config.mesh_from = "auto"
    assert rec.resolved_mesh_from() == LOW_NOISE_MESH_FROM
    # an open cap: whatever the mesh is fit to, it is trimmed to the chart samples (no surface
    # where the charts have none) and closes nothing
    from scipy.spatial import cKDTree

    from dgp.metrics import boundary_edges
    from dgp.patches import surface_spacing

    cap = d[d[:, 2] > 0.0]
    rec = dgp.reconstruct(dgp.PointCloud(cap, cap), cfg)
    rec.config.pockets = 0.0  # this coarse cap's pockets would be large: keep none
    samples = rec.sample().points
    reach = rec.config.trim * surface_spacing(samples)
    for choice in ("charts", "input", "union"):
        rec.config.mesh_from = choice
        mesh = rec.mesh()
        assert boundary_edges(mesh) > 0, choice
        assert cKDTree(samples).query(mesh.vertices)[0].max() <= reach * 1.01, choice


def test_uv_from_the_points_brings_charts_onto_a_clean_surface(sphere_points, tmp_path):
    rng = np.random.default_rng(4)
    pts, nrm = sphere_points(800, rng, noise=0.0)
    err = {}
    for uv in ("blue", "points"):
        cfg = ReconstructionConfig(**dict(FAST, local_steps=300, consistency_steps=0, uv=uv))
        rec = dgp.reconstruct(dgp.PointCloud(pts, nrm), cfg)
        s = rec.sample().points
        err[uv] = np.abs(np.linalg.norm(s, axis=1) - 1).mean()
    assert err["points"] < 0.75 * err["blue"], err  # 0.57x when written
    rec.save(tmp_path / "s.pt")
    assert Reconstruction.load(tmp_path / "s.pt").config.uv == "points"
    with pytest.raises(SettingError, match="uv"):
        ReconstructionConfig(uv="grid").validate()
