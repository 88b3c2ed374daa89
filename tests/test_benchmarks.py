"""The benchmark scripts run end to end at toy sizes and write the tables they promise."""

import re

from benchmarks import speed


def test_speed_benchmark_writes_its_tables(tmp_path):
    out = tmp_path / "speed.md"
    speed.main(["--threads", "1", "--patches", "3,5", "--points", "8,16", "--widths", "2,8,3", "--repeat", "1",
                "--schedule", "", "--out", str(out)])
    text = out.read_text()
    rows = [line for line in text.splitlines() if re.match(r"\| [35] \| (8|16) \|", line)]
    assert len(rows) == 8  # 4 sizes in each of the two tables
    first = rows[0].split("|")[1:-1]
    assert len(first) == 13
    assert float(first[10]) > 0 and float(first[12]) > 0  # both matchings timed
    assert all(float(first[i]) >= 0 for i in (2, 3, 4))  # loop, batched, blocked seconds per step
    assert all(float(first[i].strip(" ×")) > 0 for i in (5, 6, 9))  # the two speed-ups and the ceiling
    assert re.search(r"matrix-product peak: \d+ GFLOP/s", text)
