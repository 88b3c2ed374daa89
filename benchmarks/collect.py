"""Fill the generated blocks of README.md and docs/*.md from benchmarks/results/ and the settings.

Numbers are written once, by the benchmark that measured them, into ``benchmarks/results/``;
the README and docs quote them only through blocks that this script writes:

    <!-- BEGIN generated: KEY -->
    ...
    <!-- END generated: KEY -->

KEY is ``include benchmarks/results/NAME.md`` (that file's body, its title dropped), the name of
a headline table made from a results file (``surface-headline``, ``images-headline``,
``demo-headline``), or ``settings MODULE:CLASS`` (the settings table of a configuration class).

    python benchmarks/collect.py           # rewrite the blocks in place
    python benchmarks/collect.py --check   # exit 1 if any block is out of date (the test suite runs this)
"""

from __future__ import annotations

import argparse
import csv
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
#: the files whose generated blocks this script owns
DOCS = ("README.md", "docs/results.md", "docs/method.md", "docs/settings.md", "docs/cluster.md")
BLOCK = re.compile(r"(<!-- BEGIN generated: (.+?) -->\n)(.*?)(<!-- END generated: \2 -->)", re.S)


def markdown_table(text: str, first: int = 0) -> list[list[str]]:
    """The rows (header first) of the ``first``-th Markdown table in ``text``, cells stripped."""
    tables, cur = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cur.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif cur:
            tables.append([r for r in cur if not set("".join(r)) <= set("-: ")])
            cur = []
    return tables[first]


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def include(path: str) -> str:
    """A results file's body: its ``# title`` line dropped, its sub-headings kept."""
    text = (ROOT / path).read_text().strip().splitlines()
    if text and text[0].startswith("# "):
        text = text[1:]
    return "\n".join(text).strip()


def surface_headline() -> str:
    """DGP against Screened Poisson depth 8 on every shape at 0.5% and 1% noise (surface.csv)."""
    rows = list(csv.DictReader((RESULTS / "surface.csv").open()))
    by = {(r["shape"], r["noise"], r["method"]): r for r in rows}
    out = []
    for shape in dict.fromkeys(r["shape"] for r in rows):
        for noise in ("0.005", "0.01"):
            d, p = by.get((shape, noise, "DGP")), by.get((shape, noise, "Poisson d8"))
            if d is None or p is None:
                continue
            c, h = float(d["chamfer_l1"]), float(d["hausdorff"])
            pc, ph = float(p["chamfer_l1"]), float(p["hausdorff"])
            out.append(
                [shape, f"{100 * float(noise):g}%", f"{c:.3e}", f"{pc:.3e}", f"{c / pc:.2f}", f"{h:.3e}", f"{ph:.3e}"]
                + [f"{h / ph:.2f}"]
            )
    header = ["shape", "noise", "DGP Chamfer-L1", "Poisson d8", "ratio", "DGP Hausdorff", "Poisson d8", "ratio"]
    return _table(header, out) + "\n\nFrom [surface.md](benchmarks/results/surface.md)."


BASELINES = ("TV", "wavelet", "bicubic", "biharmonic", "BM3D")


def images_headline() -> str:
    """Per task and image: the best classical baseline and the best unlearned prior (images_cpu_128.md)."""
    table = markdown_table((RESULTS / "images_cpu_128.md").read_text())
    head, rows = table[0], table[1:]
    col = {name: i for i, name in enumerate(head)}
    best: dict = {}
    for r in rows:
        key = (r[col["task"]], r[col["image"]])
        method, value = r[col["method"]], float(r[col["PSNR"]])
        if method == "noisy input":
            continue
        kind = "baseline" if method.startswith(BASELINES) else "prior"
        entry = best.setdefault(key, {})
        if kind not in entry or value > entry[kind][1]:
            entry[kind] = (method, value)
    out = []
    for (task, image), entry in best.items():
        b = entry.get("baseline")
        p = entry["prior"]
        out.append([task, image, f"{b[0]}: {b[1]:.2f}" if b else "(none run)", f"{p[0]}: {p[1]:.2f}"])
    return (
        _table(["task", "image", "best classical baseline (dB)", "best unlearned prior (dB)"], out)
        + "\n\nFrom [`benchmarks/results/images_cpu_128.md`](benchmarks/results/images_cpu_128.md) (128×128, CPU)."
    )


def imageset_headline() -> str:
    """Per task of imageset_cpu_128.md: the classical baseline and the CLI default over the image set
    (mean, and the default's margin on its worst image), from the raw figures beside it."""
    import json

    import numpy as np

    from benchmarks.imageset import REFERENCE, TASKS, default_method

    name = "imageset_cpu_128.md"
    data = json.loads((RESULTS / name).with_suffix(".json").read_text())
    out = []
    for task in [t for t in TASKS if t in data["tasks"]]:
        results = data["tasks"][task]["results"]
        ref = next(m for m in results if m.startswith(REFERENCE[task]))
        default = default_method(task)
        base, ours = ([v[0] for v in results[m] if not isinstance(v, str)] for m in (ref, default))
        worst = int(np.argmin(np.subtract(ours, base)))
        out.append(
            [
                task,
                f"{ref}: {np.mean(base):.2f}",
                f"{default}: {np.mean(ours):.2f}",
                f"{ours[worst] - base[worst]:+.2f} ({data['images'][worst]})",
            ]
        )
    header = ["task", "classical baseline, mean dB", "default, mean dB", "default − baseline, worst image"]
    return _table(header, out) + (
        f"\n\nOver {len(data['images'])} images of different character, from [{name}](benchmarks/results/{name}) "
        "(128×128, CPU)."
    )


def demo_headline() -> str:
    """The sample bunny with the defaults against Poisson depth 8 (reconstruct.md's first table)."""
    table = markdown_table((RESULTS / "reconstruct.md").read_text())
    head = table[0]
    keep = [head.index(c) for c in ("method", "Chamfer-L1", "Hausdorff", "normal consistency", "seconds")]
    return _table([head[i] for i in keep], [[r[i] for i in keep] for r in table[1:]]) + (
        "\n\nFrom [reconstruct.md](benchmarks/results/reconstruct.md)."
    )


def settings(target: str) -> str:
    """The settings table of ``module:Class`` (`dgp.settings.settings_table`)."""
    from dgp.settings import settings_table

    module, name = target.split(":")
    return settings_table(getattr(importlib.import_module(module), name))


def real_headline() -> str:
    """DGP against Poisson depth 8 on each real scan, distances to the scan in its units (real.csv)."""
    rows = [r for r in csv.DictReader((RESULTS / "real.csv").open()) if r["kind"] == "real"]
    by = {(r["input"], r["method"]): r for r in rows}
    out = []
    for scan in dict.fromkeys(r["input"] for r in rows):
        d, p = by.get((scan, "DGP")), by.get((scan, "Poisson d8"))
        if d is None or p is None:
            continue
        dm, pm = float(d["scan_to_mesh_mean"]), float(p["scan_to_mesh_mean"])
        dp, pp = float(d["mesh_to_scan_p99"]), float(p["mesh_to_scan_p99"])
        ratios = [f"{dm / pm:.2f}", f"{dp:.3f}", f"{pp:.3f}", f"{dp / pp:.2f}", f"{float(d['seconds']):.0f}"]
        out.append([scan, d["points"], f"{dm:.4f}", f"{pm:.4f}", *ratios])
    header = ["scan", "points", "scan→mesh mean: DGP", "Poisson d8", "ratio", "mesh→scan p99: DGP", "Poisson d8"]
    return _table(header + ["ratio", "DGP s"], out) + "\n\nFrom [real.md](benchmarks/results/real.md) (2 cores)."


HEADLINES = {
    "real-headline": real_headline,
    "surface-headline": surface_headline,
    "images-headline": images_headline,
    "imageset-headline": imageset_headline,
    "demo-headline": demo_headline,
}


def render(key: str, doc: Path) -> str:
    kind, _, arg = key.partition(" ")
    if kind == "include":
        text = include(arg)
    elif kind == "settings":
        text = settings(arg)
    elif key in HEADLINES:
        text = HEADLINES[key]()
    else:
        raise SystemExit(f"{doc}: unknown generated block {key!r}")
    if doc.parent != ROOT:  # links written from the root: make them relative to the doc
        text = text.replace("](benchmarks/", "](../benchmarks/").replace("](docs/", "](")
    return text


def fill(text: str, doc: Path) -> str:
    return BLOCK.sub(lambda m: m.group(1) + render(m.group(2), doc) + "\n" + m.group(4), text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 when a generated block is out of date")
    args = ap.parse_args(argv)
    stale = []
    for name in DOCS:
        doc = ROOT / name
        old = doc.read_text()
        new = fill(old, doc)
        if new != old:
            stale.append(name)
            if not args.check:
                from dgp.util import write_text

                write_text(doc, new)
                print(f"updated {name}")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)} (run: python benchmarks/collect.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
