"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

_WRAP = (
    "import json, resource, subprocess, sys, time; t = time.time(); "
    "r = subprocess.run(sys.argv[1:]); "
    "print(json.dumps({'rc': r.returncode, 'seconds': time.time() - t, "
    "'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))"
)


def run_measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` in a fresh process; return its exit code, wall seconds, peak resident memory (MB)
    and what it printed (``stdout``)."""
    full_env = dict(os.environ, **(env or {}))
    out = subprocess.run([sys.executable, "-c", _WRAP, *cmd], stdout=subprocess.PIPE, text=True, env=full_env)
    lines = out.stdout.strip().splitlines()
    return {**json.loads(lines[-1]), "stdout": "\n".join(lines[:-1])}


def reconstruct_measured(dgp_bin, scan, out, seed: int, threads: int, flags=(), env: dict | None = None) -> dict:
    """``dgp reconstruct scan -o out`` in a fresh process (quiet), measured as by `run_measured`."""
    cmd = [str(dgp_bin), "reconstruct", str(scan), "-o", str(out), "--seed", str(seed), "--threads", str(threads)]
    return run_measured([*cmd, "-q", *flags], env)


def timed(fn, *args, **kw):
    t = time.time()
    res = fn(*args, **kw)
    return res, time.time() - t
