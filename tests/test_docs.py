"""The README and docs quote measured numbers only from benchmarks/results/, and stay current."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["README.md", "docs/results.md"]
GENERATED = re.compile(r"<!-- BEGIN generated: (.+?) -->.*?<!-- END generated: \1 -->", re.S)
FENCE = re.compile(r"```.*?```", re.S)
# versions are not measurements
VERSION = re.compile(r"(Python|torch|ruff) \d+(\.\d+)+")
# a measured-looking number: with a decimal point, or in scientific notation
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?:e[-+]?\d+)?|(?<![\w.])\d+e[-+]?\d+")


def _results_text() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "benchmarks" / "results").rglob("*") if p.suffix in (".md", ".csv"))


def test_generated_blocks_are_current():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "collect.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_every_number_in_the_prose_comes_from_a_results_file():
    results = _results_text()
    for name in CHECKED:
        text = VERSION.sub("", FENCE.sub("", GENERATED.sub("", (ROOT / name).read_text())))
        stray = [n for n in NUMBER.findall(text) if n not in results]
        assert not stray, f"{name} quotes numbers that no results file holds: {stray}"


def test_the_readme_stays_short_and_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.encode()) < 10_000
    first_block = FENCE.search(text).group(0)
    assert "bash scripts/demo.sh" in first_block and "bash scripts/test.sh" in first_block
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_generated_numbers_follow_their_results_file(tmp_path):
    # the headline table is made from surface.csv: change a value there and the block changes
    sys.path.insert(0, str(ROOT))
    from benchmarks import collect

    table = collect.surface_headline()
    row = next(line for line in table.splitlines() if line.startswith("| fandisk | 0.5%"))
    dgp_chamfer = float(row.split("|")[3])
    csv_rows = (ROOT / "benchmarks" / "results" / "surface.csv").read_text().splitlines()
    value = next(float(r.split(",")[3]) for r in csv_rows if r.startswith("fandisk,0.005,DGP,"))
    assert f"{value:.3e}" == f"{dgp_chamfer:.3e}"
