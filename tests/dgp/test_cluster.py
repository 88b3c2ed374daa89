"""Tests of `dgp.cluster`: the chart fits as Ray tasks give the in-process result, survive a
worker's death and stop on Ctrl-C. One local Ray instance serves the test run (the session
fixture ``local_ray`` of tests/conftest.py)."""

import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

import dgp
from dgp.reconstruction import ReconstructionConfig

ray = pytest.importorskip("ray")

SMALL = dict(
    radius=0.12,
    min_points=10,
    widths=(2, 32, 32, 3),
    local_steps=60,
    consistency_steps=20,
    match_every=20,
    density=6,
    poisson_depth=6,
    batch_size=8,
    device="cpu",
    progress=False,
)


@pytest.fixture(scope="module")
def cloud(sphere_points):
    pts, nrm = sphere_points(2000, np.random.default_rng(3), noise=0.01)
    return dgp.PointCloud(pts, nrm)


@pytest.fixture(scope="module")
def in_process(cloud):
    torch.set_num_threads(2)
    return dgp.reconstruct(cloud, ReconstructionConfig(**SMALL))


def _same_charts(a, b):
    assert np.array_equal(a.fitted, b.fitted)
    assert np.array_equal(a.charts.match, b.charts.match)
    assert np.array_equal(a.charts.stopped_at, b.charts.stopped_at)
    for x, y in zip(a.charts.weights + a.charts.biases, b.charts.weights + b.charts.biases):
        assert torch.equal(x, y)


def test_cluster_fit_equals_in_process_bit_for_bit(local_ray, cloud, in_process):
    rec = dgp.reconstruct(cloud, ReconstructionConfig(**SMALL, cluster="local"))
    assert len(rec.patches) > 2 * SMALL["batch_size"]  # several chunks, so tasks run side by side
    _same_charts(rec, in_process)
    assert np.array_equal(rec.mesh().vertices, in_process.mesh().vertices)
    assert set(rec.stages) >= {"noise", "patches", "local", "consistency"}


def test_progress_counts_every_step_of_every_task(local_ray, cloud):
    from dgp.cluster import Job, RayRunner

    runner = RayRunner("local")
    steps = []
    try:
        out = dict(runner.run([Job(i, "square", (i,)) for i in range(6)], lambda n, loss: steps.append(n)))
    finally:
        runner.close()
    assert out == {i: i * i for i in range(6)}
    assert sum(steps) == 6
    assert ray.is_initialized()  # a session the caller started is left running


def _fit_processes():
    import psutil

    found = []
    for p in psutil.process_iter():
        try:
            if "ray::dgp-fit" in " ".join(p.cmdline()):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def test_a_worker_killed_mid_task_costs_a_retry_not_the_run(local_ray, cloud, in_process):
    killed = []

    def kill_one():
        deadline = time.time() + 60
        while time.time() < deadline and not killed:
            procs = _fit_processes()
            if procs:
                os.kill(procs[0].pid, signal.SIGKILL)
                killed.append(procs[0].pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one)
    killer.start()
    rec = dgp.reconstruct(cloud, ReconstructionConfig(**SMALL, cluster="local"))
    killer.join()
    assert killed, "no fitting worker was seen"
    _same_charts(rec, in_process)


def test_ctrl_c_cancels_the_tasks_and_keeps_what_was_fitted(local_ray, cloud, monkeypatch):
    from dgp.cluster import RayRunner

    report = RayRunner._report
    results = []

    def interrupt_after_first(self, progress):
        report(self, progress)
        if results:
            raise KeyboardInterrupt

    original_run = RayRunner.run

    def run(self, jobs, progress=None):
        for key, value in original_run(self, jobs, progress):
            results.append(key)
            yield key, value

    monkeypatch.setattr(RayRunner, "_report", interrupt_after_first)
    monkeypatch.setattr(RayRunner, "run", run)
    cfg = ReconstructionConfig(**{**SMALL, "local_steps": 400, "stop": "fixed"}, cluster="local")
    rec = dgp.reconstruct(cloud, cfg)
    assert rec.interrupted
    assert 0 < rec.fitted.sum() < len(rec.patches)
    deadline = time.time() + 20
    while _fit_processes() and time.time() < deadline:
        time.sleep(0.2)
    assert not _fit_processes(), "cancelled tasks kept running"


def test_without_ray_the_cluster_flag_says_what_to_install(monkeypatch, capsys, tmp_path):
    import importlib.util

    from dgp.cli import main
    from dgp.settings import SettingError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(SettingError, match="pip install"):
        ReconstructionConfig(cluster="local").validate()
    pts = np.random.default_rng(0).normal(size=(200, 3))
    np.savetxt(tmp_path / "c.xyz", pts)
    assert main(["reconstruct", str(tmp_path / "c.xyz"), "-o", str(tmp_path / "m.ply"), "--cluster", "local"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cluster" in err[0] and "pip install" in err[0]
