"""Small helpers shared by the packages: atomic writes (a temporary file beside the target, then
a rename) of any file, of text and of pictures."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path`` (same suffix); rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hi")
    >>> out.read_text()
    'hi'
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=folder)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_png(path, image_or_figure) -> None:
    """Write an ``(H, W, 3)`` uint8 image or a matplotlib Figure (closed afterwards) to ``path``
    atomically.

    >>> import numpy as np, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> save_png(out, np.zeros((4, 6, 3), np.uint8)); out.stat().st_size > 0
    True
    """
    import numpy as np

    with atomic_path(path) as tmp:
        if hasattr(image_or_figure, "savefig"):
            image_or_figure.savefig(tmp, dpi=100)
            import matplotlib.pyplot as plt

            plt.close(image_or_figure)
        else:
            import matplotlib.pyplot as plt

            plt.imsave(tmp, np.asarray(image_or_figure))


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MB (the high-water mark: it never falls).

    >>> peak_memory_mb() > 0
    True
    """
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, kB on Linux


def available_memory_mb() -> float:
    """Memory a new allocation can take without swapping, in MB: Linux's MemAvailable, else the
    free physical pages (``os.sysconf``); inf where neither is known.

    >>> available_memory_mb() > 0
    True
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (ValueError, OSError, AttributeError):
        return float("inf")
