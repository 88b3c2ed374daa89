"""Running the chart fits of one reconstruction: in this process, or as tasks on a Ray cluster.

The two phases of `dgp.reconstruction.reconstruct` are lists of independent jobs, one per chunk
of patches (`dgp.reconstruction.plan_chunks`): `fit_local` on the chunk's points, then
`fit_consistency` on targets that need every chart (a reduction the driver makes between the
phases, in patch order, so its sums are the same bits whoever fitted the charts). A *runner*
takes such a list and yields each job's result as it completes:

- `InProcess` runs the jobs one after another here (the default);
- `RayRunner` submits each job as a Ray task (one chunk per task: a shard of one chunk) to a
  local Ray instance or a running cluster, sends each chunk's arrays through the object store
  once (``ray.put``; the consistency round reuses them), and shows the steps of every task in
  one progress bar (a small actor the tasks report to). A worker that dies costs a retry of its
  task (``max_retries``), not the run; Ctrl-C cancels the tasks still running.

A chunk's fit depends only on its arrays, its seed and its settings, not on the thread count or
on the process that runs it (checked in tests/dgp/test_cluster.py), so both runners give the
same charts bit for bit on the CPU.

>>> runner = InProcess()
>>> sorted(runner.run([Job(0, "square", (3,)), Job(1, "square", (4,))]))
[(0, 9), (1, 16)]
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from dgp.settings import SettingError

#: what `--cluster` says when Ray is missing
INSTALL_HINT = "needs Ray, which is not installed: pip install 'ray>=2.9' (or the package's [cluster] extra)"
#: seconds between a task's progress reports to the driver
REPORT_EVERY = 0.5


@dataclass
class Job:
    """One unit of work: ``JOBS[kind](*args, progress=...)``; ``key`` names its result."""

    key: object
    kind: str
    args: tuple


def _square(x, progress=None):
    """A job for the examples: ``x²``."""
    if progress:
        progress(1, 0.0)
    return x * x


def _jobs() -> dict:
    from dgp.fit import fit_consistency, fit_local

    def local(inputs, cfg, seed, progress=None):
        uv, local, mask, sigma, normals = inputs
        return fit_local(uv, local, mask, sigma, cfg, seed=seed, progress=progress, normals=normals)

    def consistency(inputs, targets, normals, state, cfg, progress=None):
        uv, _, mask, _, _ = inputs
        return fit_consistency(uv, targets, mask, state, cfg, progress, normals=normals)

    return {"local": local, "consistency": consistency, "square": _square}


def _record(kind: str, key, seconds: float, sent: int, result) -> dict:
    """One row of a runner's ``tasks`` log."""
    return {"phase": kind, "key": key, "seconds": seconds, "bytes_in": sent, "bytes_out": _nbytes(result)}


class InProcess:
    """Runs jobs here, one after another, in the order given.

    ``tasks`` logs each job: phase, key, seconds, and the bytes of its arrays in and out (what
    would cross the network as a cluster task).
    """

    workers = 1

    def __init__(self):
        self.tasks: list = []

    def run(self, jobs, progress: Callable | None = None) -> Iterator[tuple]:
        """Yield ``(job.key, result)`` for each job of the iterable ``jobs`` in turn (each taken
        when the previous one is done); ``progress(steps, loss)`` as they go."""
        table = _jobs()
        for job in jobs:
            t = time.perf_counter()
            out = table[job.kind](*job.args, progress=progress)
            self.tasks.append(_record(job.kind, job.key, time.perf_counter() - t, _nbytes(job.args), out))
            yield job.key, out

    def close(self) -> None:
        """Nothing to release."""


# ---------------------------------------------------------------------------- Ray


def _ray():
    try:
        import ray
    except ImportError:
        raise SettingError("cluster", INSTALL_HINT) from None
    return ray


class _Reporter:
    """A task's progress callback: adds steps up and sends them to the driver's progress actor
    every `REPORT_EVERY` seconds (and at the end), not once per step."""

    def __init__(self, actor):
        self.actor, self.steps, self.loss, self.last = actor, 0, float("nan"), time.monotonic()

    def __call__(self, steps, loss):
        self.steps += steps
        self.loss = loss
        if time.monotonic() - self.last >= REPORT_EVERY:
            self.flush()

    def flush(self):
        if self.steps:
            self.actor.add.remote(self.steps, self.loss)
        self.steps, self.last = 0, time.monotonic()


def _run_task(kind: str, threads: int, actor, *args):
    """The body of every Ray task: one job with ``threads`` torch threads, reporting to ``actor``;
    returns ``(result, seconds)``."""
    import torch

    torch.set_num_threads(threads)
    args = tuple(_writable(a) for a in args)
    report = _Reporter(actor) if actor is not None else None
    try:
        t = time.perf_counter()
        out = _jobs()[kind](*args, progress=report)
        return out, time.perf_counter() - t
    finally:
        if report is not None:
            report.flush()


def _writable(value):
    """Arrays from the object store are read-only views of shared memory: copy them (the fit
    makes tensors of them, and torch warns about, and may write to, read-only arrays)."""
    import numpy as np

    if isinstance(value, np.ndarray) and not value.flags.writeable:
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_writable(v) for v in value)
    return value


class _Progress:
    """The driver's tally of the steps all tasks have done since it last looked."""

    def __init__(self):
        self.steps, self.loss = 0, float("nan")

    def add(self, steps: int, loss: float) -> None:
        self.steps += steps
        self.loss = loss

    def take(self) -> tuple:
        out = (self.steps, self.loss)
        self.steps = 0
        return out


def connect(cluster: str, workers: int = 0, object_store_mb: int = 0):
    """Connect to Ray; return ``(ray, started)``, ``started`` True when this call started it.

    cluster : ``local`` (start a Ray instance on this machine with ``workers`` CPUs, 0 = all of
        them), ``auto`` (the running cluster that ``RAY_ADDRESS`` or ``ray start`` made), or a
        Ray address (``HOST:6379``, ``ray://HOST:10001``). When Ray is already initialised in
        this process (a session the caller started), that session is used as it is.
    """
    ray = _ray()
    if ray.is_initialized():
        return ray, False
    kw = {"include_dashboard": False, "log_to_driver": True, "configure_logging": False}
    if cluster == "local":
        kw["num_cpus"] = int(workers) or os.cpu_count()
        if object_store_mb:
            kw["object_store_memory"] = int(object_store_mb) * 2**20
        ray.init(**kw)
    else:
        try:
            ray.init(address=cluster, **kw)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SettingError("cluster", f"cannot connect to a Ray cluster at {cluster!r}: {exc}") from None
    return ray, True


class RayRunner:
    """Runs jobs as Ray tasks; see the module's docstring.

    cluster, workers : as `connect`; threads : torch threads (and Ray CPUs) per task;
    device : the tasks' device setting; unless it is ``cpu``, each task asks for one GPU when the
    cluster has GPUs (and resolves ``auto`` on its worker); retries : retries of a task whose
    worker died.
    """

    def __init__(self, cluster: str, workers: int = 0, threads: int = 1, device: str = "cpu", retries: int = 3):
        self.tasks: list = []
        self._sizes: dict = {}
        self.ray, self.started = connect(cluster, workers)
        ray = self.ray
        self.threads = int(threads)
        resources = ray.cluster_resources()
        self.gpus = 1.0 if device != "cpu" and resources.get("GPU", 0) > 0 else 0.0
        slots = resources.get("GPU", 0) if self.gpus else resources.get("CPU", 1) // self.threads
        self.workers = max(1, int(slots))
        self.task = ray.remote(_run_task).options(
            num_cpus=self.threads, num_gpus=self.gpus, max_retries=int(retries), name="dgp-fit"
        )
        self.progress = ray.remote(_Progress).options(num_cpus=0).remote()
        self._refs: dict = {}

    def put(self, key, value):
        """Store ``value`` in the object store once (returns its reference; ``key`` caches it)."""
        if key not in self._refs:
            self._refs[key] = self.ray.put(value)
            self._sizes[self._refs[key]] = _nbytes(value)
        return self._refs[key]

    def run(self, jobs, progress: Callable | None = None) -> Iterator[tuple]:
        """Submit every job of the iterable ``jobs``; yield ``(job.key, result)`` as tasks complete
        (in completion order); ``progress(steps, loss)`` with the steps every task reported.
        Stopping early (Ctrl-C, an error) cancels the tasks still pending or running."""
        ray = self.ray
        # the arguments go one by one, so that Ray hands each task the objects behind the references
        pending = {self.task.remote(j.kind, self.threads, self.progress, *j.args): j for j in jobs}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=REPORT_EVERY)
                self._report(progress)
                for ref in done:
                    job = pending.pop(ref)
                    out, seconds = ray.get(ref)
                    sent = sum(self._sizes.get(a, 0) if isinstance(a, ray.ObjectRef) else _nbytes(a) for a in job.args)
                    self.tasks.append(_record(job.kind, job.key, seconds, sent, out))
                    yield job.key, out
            self._report(progress)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def _report(self, progress):
        if progress is None:
            return
        steps, loss = self.ray.get(self.progress.take.remote())
        if steps:
            progress(steps, loss)

    def close(self) -> None:
        """Drop the stored arrays and the progress actor; shut Ray down when this runner started it."""
        self._refs.clear()
        if self.ray.is_initialized():
            self.ray.kill(self.progress)
            if self.started:
                self.ray.shutdown()


def _nbytes(value) -> int:
    """Bytes of the arrays in ``value`` (numpy arrays and tensors, in nested tuples, lists, dicts
    and dataclasses such as `dgp.charts.ChartState`)."""
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if hasattr(value, "__dataclass_fields__"):
        return sum(_nbytes(getattr(value, f)) for f in value.__dataclass_fields__)
    n = getattr(value, "nbytes", None)
    if n is not None:
        return int(n)
    if hasattr(value, "element_size"):
        return int(value.element_size() * value.nelement())
    return 0


def make_runner(cluster: str, workers: int = 0, threads: int = 1, device: str = "cpu"):
    """`InProcess` for an empty ``cluster``, else a `RayRunner`."""
    return RayRunner(cluster, workers, threads, device) if cluster else InProcess()
