"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

#: Linux's prctl option that signals a process when its parent exits (`die_with_parent`)
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to send this process SIGTERM when its parent exits (Linux; a no-op elsewhere).
    Given as ``preexec_fn`` to the benchmarks' children, so that killing a benchmark (``pkill -f
    script.py``) stops the ``dgp`` runs it started instead of leaving them on the cores."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


# the measuring wrapper: runs its arguments as a child that dies with it (`die_with_parent`, imported
# from this folder's parent), and prints the child's exit code, wall seconds and peak resident memory
_WRAP = (
    "import json, resource, subprocess, sys, time; sys.path.insert(0, %r); "
    "from benchmarks._util import die_with_parent; t = time.time(); "
    "r = subprocess.run(sys.argv[1:], preexec_fn=die_with_parent); "
    "print(json.dumps({'rc': r.returncode, 'seconds': time.time() - t, "
    "'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))"
) % os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` in a fresh process; return its exit code, wall seconds, peak resident memory (MB)
    and what it printed (``stdout``)."""
    full_env = dict(os.environ, **(env or {}))
    out = subprocess.run(
        [sys.executable, "-c", _WRAP, *cmd], stdout=subprocess.PIPE, text=True, env=full_env, preexec_fn=die_with_parent
    )
    lines = out.stdout.strip().splitlines()
    return {**json.loads(lines[-1]), "stdout": "\n".join(lines[:-1])}


def reconstruct_measured(scan, out, seed: int, threads: int, flags=()) -> dict:
    """``dgp reconstruct scan -o out`` (the ``dgp`` beside this interpreter) in a fresh process, quiet,
    on ``threads`` threads (OpenMP's too), measured as by `run_measured`."""
    dgp_bin = os.path.join(os.path.dirname(sys.executable), "dgp")
    cmd = [dgp_bin, "reconstruct", str(scan), "-o", str(out), "--seed", str(seed), "--threads", str(threads)]
    return run_measured([*cmd, "-q", *flags], {"OMP_NUM_THREADS": str(threads)})


def scratch(prefix: str):
    """A fresh temporary folder (a `pathlib.Path`) for scans and meshes, removed when the process exits."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def timed(fn, *args, **kw):
    t = time.time()
    res = fn(*args, **kw)
    return res, time.time() - t


def add_image_run_arguments(ap) -> None:
    """The flags every image-set benchmark takes: image side, device, CPU threads, seed."""
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)


def add_render_argument(ap) -> None:
    """``--render FILE.json``, which `rerender` serves."""
    ap.add_argument("--render", metavar="FILE.json", help="only rewrite the Markdown of a record, measuring nothing")


def rerender(raw, render) -> None:
    """``--render FILE.json``: rewrite the Markdown beside a record from it with ``render(record)``,
    measuring nothing."""
    from pathlib import Path

    from dgp.util import write_text

    raw = Path(raw)
    write_text(raw.with_suffix(".md"), render(json.loads(raw.read_text())))
    print(f"wrote {raw.with_suffix('.md')}")


def surface_truth(mesh, n: int = 200_000):
    """A ground-truth mesh as the fit benchmarks score against it: ``n`` area samples of ``mesh``
    (seed 0), ``(n, 3)``, and its bounding-box diagonal."""
    import numpy as np
    import trimesh

    pts, _ = trimesh.sample.sample_surface(mesh, n, seed=0)
    return np.asarray(pts), float(np.linalg.norm(mesh.bounds[1] - mesh.bounds[0]))


def sample_truth(root, n: int = 200_000):
    """`surface_truth` of the sample's ground truth, ``data/bunny_gt.ply`` under ``root``."""
    from pathlib import Path

    from dgp.io import read_mesh

    return surface_truth(read_mesh(Path(root) / "data" / "bunny_gt.ply"), n)
