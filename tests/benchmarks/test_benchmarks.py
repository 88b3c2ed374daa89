"""The benchmark scripts run end to end at toy sizes and write the tables they promise."""

import re
from pathlib import Path

import numpy as np

from benchmarks import fourier_scale, speed


def test_speed_benchmark_writes_its_tables(tmp_path):
    out = tmp_path / "speed.md"
    speed.main(
        [
            "--threads",
            "1",
            "--patches",
            "3,5",
            "--points",
            "8,16",
            "--widths",
            "2,8,3",
            "--repeat",
            "1",
            "--schedule",
            "",
            "--out",
            str(out),
        ]
    )
    text = out.read_text()
    rows = [line for line in text.splitlines() if re.match(r"\| [35] \| (8|16) \|", line)]
    assert len(rows) == 8  # 4 sizes in each of the two tables
    first = rows[0].split("|")[1:-1]
    assert len(first) == 13
    assert float(first[10]) > 0 and float(first[12]) > 0  # both matchings timed
    assert all(float(first[i]) >= 0 for i in (2, 3, 4))  # loop, batched, blocked seconds per step
    assert all(float(first[i].strip(" ×")) > 0 for i in (5, 6, 9))  # the two speed-ups and the ceiling
    assert re.search(r"matrix-product peak: \d+ GFLOP/s", text)


def test_fourier_scale_benchmark_writes_its_table(tmp_path):
    out = tmp_path / "fs.md"
    fourier_scale.main(["--size", "32", "--steps", "2", "--scales", "10", "--threads", "1", "--out", str(out)])
    rows = [
        line.split("|")[1:-1]
        for line in out.read_text().splitlines()
        if line.startswith("| inpaint") or line.startswith("| SR") or line.startswith("| CS")
    ]
    # 4 tasks, each at scale 10 and at the rule's scale (below 10: none measures 128² values per channel)
    assert len(rows) == 8
    assert sum("(rule)" in r[2] for r in rows) == 4
    sr = [r for r in rows if r[0].startswith(" SR")]
    assert float(sr[0][1]) == 64 and sr[0][2].strip() == "0.625 (rule)"  # x4 of 32²: 8x8 measured
    assert all(float(r[3].strip(" *")) > 0 for r in rows)


def test_cluster_benchmark_reports_same_bits_and_a_projection(tmp_path, local_ray):
    from benchmarks import cluster

    out = tmp_path / "cluster.md"
    mesh = str(cluster.ROOT / "data" / "bunny_gt.ply")  # the repository's own: ../shared is not there in CI
    args = ["--mesh", mesh, "--points", "3000", "--local-steps", "4", "--consistency-steps", "2", "--workers", "2"]
    cluster.main(args + ["--out", str(out)])
    text = out.read_text()
    assert "| Ray, 2 workers |" in text and "DIFFERENT" not in text and text.count("| same bits |") == 2
    assert "| 64 |" in text  # the projection's last row
    assert cluster.project([{"phase": "a", "seconds": 1.0, "bytes_in": 0, "bytes_out": 0}] * 3, 0.0, 2) == 2.0


def test_auction_benchmark_writes_its_table(tmp_path):
    from benchmarks import auction

    out = tmp_path / "a.md"
    auction.main(["--patches", "8", "--points", "16", "--out", str(out)])
    assert "| 8 | 16 |" in out.read_text() and "| yes |" in out.read_text()


def test_matching_benchmark_finds_the_optimum_with_every_solver(tmp_path):
    import numpy as np

    from benchmarks import matching
    from dgp.matching import match

    out = tmp_path / "m.md"
    matching.main(["--patches", "20", "--points", "12", "--repeat", "1", "--out", str(out)])
    kinds = ("| running | 12 |", "| scattered | 12 |")
    rows = [line for line in out.read_text().splitlines() if line.startswith(kinds)]
    assert len(rows) == 2 and all(row.endswith("| 20/20 |") for row in rows)  # emd: lsa's matching on every patch
    if matching.have_lap():  # lap's solver as the benchmark wires it: the optimum, padding left alone
        rng = np.random.default_rng(0)
        pred, points, counts = matching.make_patches("scattered", 40, 10, rng)
        counts[:2] = (0, 1)
        got, want = matching.match_lapjv(pred, points, counts, chunk=16), match(pred, points, counts, "lsa")
        assert np.array_equal(got, want.index)


def test_matching_rule_takes_the_fastest_solver_that_keeps_emds_charts():
    import numpy as np

    from benchmarks.matching import choose

    a, b = np.zeros((4, 3)), np.ones((4, 3))
    fits = [("x", "emd", 10.0, 3.0, 0.1, a), ("x", "lsa", 9.0, 1.0, 0.1, a)]
    fits += [("y", "emd", 10.0, 2.0, 0.1, b), ("y", "lsa", 9.0, 2.5, 0.1, b)]
    assert choose(fits) == ("lsa", {"emd": 5.0, "lsa": 3.5})  # the sum over the inputs decides
    fits[3] = ("y", "lsa", 9.0, 2.5, 0.1, a)  # other charts on one input: not the same matching
    assert choose(fits)[0] == "emd"


def test_the_matching_default_is_the_benchmarks_rule():
    import re

    from dgp.fit import ChartFitConfig

    text = (Path(__file__).resolve().parents[2] / "benchmarks/results/matching_cpu.md").read_text()
    (pick,) = re.findall(r"^Rule \(.*?\): \*\*(\w+)\*\*", text, flags=re.M)
    assert pick == ChartFitConfig.matching
    assert text.count("| yes |") >= 3  # the fits it judged: the same charts with every solver


def test_imageset_benchmark_tables_baselines_and_back_projection(tmp_path):
    from benchmarks import imageset

    out = tmp_path / "set.md"
    args = ["--size", "32", "--steps", "3", "--images", "brick,coffee", "--priors", "dd", "--threads", "1"]
    imageset.main(args + ["--tasks", "inpaint", "--out", str(out)])
    imageset.main(args + ["--tasks", "sr,cs", "--out", str(out)])  # merged beside the inpainting record
    text = out.read_text()
    out.unlink()
    imageset.main(["--render", str(out.with_suffix(".json"))])
    assert out.read_text() == text
    for task, base in (("inpaint", "biharmonic"), ("sr", "bicubic"), ("cs", "wavelet FISTA")):
        section = text.split(f"## {task} ")[1].split("## ")[0]
        head = next(line for line in section.splitlines() if line.startswith("| image |"))
        head = head.replace(" *default*", "")  # the CLI's default is marked (sr's is dd+BP)
        extra = " dd+BH | dd+auto |" if task == "inpaint" else ""  # inpainting: blends with biharmonic
        assert head == f"| image | {base} | dd | dd+BP |{extra}", head
        rows = {ln.split("|")[1].strip(): ln.split("|")[2:-1] for ln in section.splitlines() if ln.startswith("|")}
        assert {"brick", "coffee", "**mean**"} <= set(rows)
        if task == "inpaint":
            # the same output with its known pixels put back is nearer the truth
            for name in ("brick", "coffee"):
                assert float(rows[name][2].split()[0]) > float(rows[name][1].split()[0])
        assert "Rule (best mean" in section


def test_imageset_resumes_a_killed_run_from_its_partial_file(tmp_path, monkeypatch, capsys):
    """A run killed after its first fit leaves that fit in the partial file; the same command resumes
    with the second fit alone and writes the record an unbroken run writes; another budget starts over."""
    import json

    import pytest

    import image_priors.fit as fit_module
    from benchmarks import imageset

    real_fit, calls = fit_module.fit, []

    def counted(*a, **k):
        calls.append(1)
        if kill_at and len(calls) == kill_at:
            raise KeyboardInterrupt
        return real_fit(*a, **k)

    monkeypatch.setattr(fit_module, "fit", counted)
    args = ["--size", "32", "--steps", "3", "--images", "brick,coffee", "--priors", "dd", "--threads", "1"]
    args += ["--tasks", "inpaint"]
    kill_at = 0
    imageset.main(args + ["--out", str(tmp_path / "whole.md")])
    assert len(calls) == 2 and not (tmp_path / "whole.partial.json").exists()

    out = tmp_path / "set.md"
    calls.clear()
    kill_at = 2
    with pytest.raises(KeyboardInterrupt):
        imageset.main(args + ["--out", str(out)])
    partial = json.loads(out.with_suffix(".partial.json").read_text())
    assert len(partial["results"]["inpaint"]["dd"]) == 1 and not out.exists()
    capsys.readouterr()
    calls.clear()
    kill_at = 1  # killed before it saves: the partial file stays the first run's
    with pytest.raises(KeyboardInterrupt):  # another budget: the partial file is not its own
        imageset.main([*args[:2], "--steps", "4", *args[4:], "--out", str(out)])
    assert "resuming" not in capsys.readouterr().out
    calls.clear()
    kill_at = 0
    imageset.main(args + ["--out", str(out)])
    assert "resuming" in capsys.readouterr().out
    assert len(calls) == 1 and not out.with_suffix(".partial.json").exists()

    def psnrs(path):
        res = json.loads(path.with_suffix(".json").read_text())["tasks"]["inpaint"]["results"]
        return {m: [v[:2] if isinstance(v, list) else v for v in vals] for m, vals in res.items()}

    assert psnrs(out) == psnrs(tmp_path / "whole.md")


def test_imageset_target_against_the_peer_takes_its_better_column():
    """The default (with back-projection) is held to the peer's better column on the mean, which is
    the back-projected one where that is higher, not to its plain output."""
    from benchmarks.imageset import render

    def col(*psnrs):
        return [[p, None, 1.0] for p in psnrs]

    results = {
        "bicubic": col(20.0, 22.0),
        "dd": col(21.0, 23.0),
        "dd+BP": col(22.0, 24.0),
        "deepinv": col(20.0, 21.0),
        "deepinv+BP": col(21.5, 23.5),
    }
    rec = {"cmd": ["x"], "minutes": 1.0, "steps": 10, "settings": {"stop": "fixed", "ema": 0.0}}
    rec.update(priors=["dd", "deepinv"], results=results, weights={})
    text = render({"size": 32, "device": "cpu", "images": ["brick", "coffee"], "tasks": {"sr": rec}})
    assert "Target: default ≥ deepinv+BP +0.0 dB (mean): +0.50 dB, met." in text, text


def test_wavelet_fista_beats_the_zero_filled_adjoint():
    import torch

    from benchmarks.imageset import load, problem
    from image_priors.classical import wavelet_fista
    from image_priors.metrics import psnr

    truth, op, y = problem("cs", load("camera", 32), seed=0)
    est = wavelet_fista(op, y, truth.shape, lam=0.01, iters=100)
    zero_filled = op.adjoint(y)[0].numpy()
    assert est.shape == truth.shape and psnr(truth, est) > psnr(truth, zero_filled) + 3
    assert isinstance(op(torch.as_tensor(est)[None]), torch.Tensor)


def test_imageset_runs_the_deepinv_peer_beside_the_priors_and_keeps_it_out_of_the_rule(tmp_path):
    import pytest

    pytest.importorskip("deepinv")
    from benchmarks import imageset

    out = tmp_path / "set.md"
    args = ["--size", "32", "--steps", "3", "--images", "brick,coffee", "--threads", "1", "--out", str(out)]
    imageset.main(args + ["--tasks", "sr", "--priors", "dd"])
    imageset.main(args + ["--tasks", "sr", "--priors", "deepinv"])  # joins the dd columns
    section = out.read_text().split("## sr ")[1]
    head = next(line for line in section.splitlines() if line.startswith("| image |"))
    assert head == "| image | bicubic | dd | dd+BP | deepinv | deepinv+BP |", head
    assert "Rule (best mean" in section and "**deepinv" not in section


def test_learned_benchmark_quick_run_writes_table_and_figure(tmp_path):
    from benchmarks import learned

    out = tmp_path / "learned.md"
    learned.main(
        [
            "--quick",
            "--images",
            "1",
            "--ratios",
            "0.25",
            "--csgm-steps",
            "5",
            "--steps",
            "5",
            "--threads",
            "1",
            "--out",
            str(out),
        ]
    )
    text = out.read_text()
    assert "| task | A⁺y | Lasso | TV | CSGM | IAGAN | IAGAN+BP | LCM | Deep Decoder | DIP |" in text
    assert "| SR x4 |" in text and "Lasso's weight" in text and "lcm_faces.pt" in text
    assert "## held-out faces" in text and "## unlike" in text and "train-generator" in text
    assert out.with_suffix(".png").stat().st_size > 10_000


def test_the_shipped_generator_loads_and_makes_faces():
    import torch

    from image_priors.learned import faces, load_generator

    gen, info = load_generator(Path(__file__).resolve().parents[2] / "data" / "generator_faces.pt")
    assert (info.latent, info.shape, info.about["data"]) == (64, (1, 32, 32), "faces")
    # its decoder reproduces a training face far better than the mean face does: it learned the class
    x = torch.as_tensor(faces("train")[:1])
    w = torch.zeros(1, 64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1)
    for _ in range(200):
        loss = ((gen(w) - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    mean_face = torch.as_tensor(faces("train").mean(0, keepdims=True))
    assert float(loss) < 0.5 * float(((mean_face - x) ** 2).mean())


def test_normal_weight_rule_ignores_the_oracle_rows_and_splits_the_ratios():
    from benchmarks.normal_weight import choose_rho

    def row(ratio, normals, off, on):
        return {"ratio": ratio, "normals": normals, "dgp": {"0.0": off, "0.05": on}}

    rows = [
        row(0.1, "scanner", 1.0, 1.2),  # the term hurts at a low ratio
        row(0.2, "estimated", 1.0, 1.1),
        row(0.4, "estimated", 1.3, 1.0),  # and helps at a high one
        row(0.05, "exact", 2.0, 1.0),  # an oracle row that would pull the threshold down
    ]
    rho, score, _ = choose_rho(rows, [0.0, 0.05])
    assert 0.2 < rho < 0.4 and score == 1.0
    assert abs(rho - (0.2 * 0.4) ** 0.5) < 1e-12


def test_the_normal_weight_default_is_the_benchmarks_rule():
    # --normal-weight auto turns the term on for the same measured inputs as the rule's threshold
    import json

    from benchmarks.normal_weight import rule_weight
    from dgp.patches import NORMAL_WEIGHT, normal_weight_for

    record = json.loads((Path(__file__).resolve().parents[2] / "benchmarks/results/normal_weight.json").read_text())
    rows = [r for r in record["rows"] if r["normals"] != "exact"]
    assert len(rows) >= 6
    for r in rows:
        expected = rule_weight(r["ratio"], record["rho"], record["weights"])
        assert normal_weight_for(r["ratio"], 1.0) == expected == (NORMAL_WEIGHT if expected else 0.0), r["input"]


def test_fit_budget_rule_splits_the_ratios_within_the_time_limit():
    from benchmarks.fit_budget import MAX_TIME, choose, parse_budgets

    budgets = parse_budgets("500:0.003,1000:0.01")
    assert budgets[1] == (1000, 0.01)

    def row(ratio, base, long, slow=2.0):
        return {
            "ratio": ratio,
            "dgp": {"500:0.003": base, "1000:0.01": long},
            "seconds": {"500:0.003": 1, "1000:0.01": slow},
        }

    rows = [row(0.05, 1.3, 1.0), row(0.15, 1.1, 1.0), row(0.25, 1.0, 1.2), row(0.4, 1.0, 1.1)]
    pick = choose(rows, budgets)
    assert abs(pick["rho"] - (0.15 * 0.25) ** 0.5) < 1e-12 and pick["score"] == 1.0
    # a long budget too slow for the limit is not taken, whatever it gains
    slow = [row(0.05, 1.3, 1.0, slow=MAX_TIME * 10), row(0.4, 1.0, 1.1)]
    assert choose(slow, budgets)["rho"] == 0.025


def test_the_fit_budget_default_is_the_benchmarks_rule():
    # --local-steps/--lr auto give every measured input the budget the rule picked for it
    import json

    from benchmarks.fit_budget import rule_budget
    from dgp.patches import fit_budget_for

    record = json.loads((Path(__file__).resolve().parents[2] / "benchmarks/results/fit_budget.json").read_text())
    assert len(record["rows"]) >= 4
    for r in record["rows"]:
        expected = rule_budget(r["ratio"], record["pick"]["rho"], record["budgets"])
        steps, lr = fit_budget_for(r["ratio"], 1.0)
        assert f"{steps}:{lr:g}" == expected, r["input"]


def test_lr_schedule_rule_takes_the_lower_error_within_the_time_limit():
    from benchmarks.lr_schedule import MAX_TIME, choose

    def row(constant, step, slow=1.0):
        return {"constant": {"error": constant, "seconds": 1.0}, "step": {"error": step, "seconds": slow}}

    assert choose([row(1.0, 0.8), row(1.0, 1.1)]) == "step"  # mean ratio 0.95
    assert choose([row(1.0, 0.9), row(1.0, 1.2)]) == "constant"  # mean ratio 1.05
    assert choose([row(1.0, 0.5, slow=MAX_TIME * 2)]) == "constant"  # too slow, whatever it gains


def test_the_lr_schedule_default_is_the_benchmarks_rule():
    # the measured inputs in the low-noise budget get the schedule the rule chose
    import json

    from dgp.patches import LOW_NOISE_BUDGET, LOW_NOISE_SCHEDULE, fit_budget_for, lr_schedule_for

    record = json.loads((Path(__file__).resolve().parents[2] / "benchmarks/results/lr_schedule.json").read_text())
    assert record["choice"] == LOW_NOISE_SCHEDULE
    low = [r for r in record["rows"] if fit_budget_for(r["ratio"], 1.0) == LOW_NOISE_BUDGET]
    assert len(low) >= 4
    for r in low:
        assert lr_schedule_for(r["ratio"], 1.0) == record["choice"]


def test_mesh_from_rule_takes_the_lowest_error_without_spurious_surface():
    from benchmarks.mesh_from import MAX_SPURIOUS, choose

    def row(ratio, **choices):
        dgp = {"charts": {"error": 1.0, "spurious": 1.0}}
        dgp.update({c: {"error": e, "spurious": s} for c, (e, s) in choices.items()})
        return {"ratio": ratio, "dgp": dgp}

    rule = choose([row(0.0, input=(0.8, 1.0), union=(0.9, 1.0)), row(0.05, input=(0.9, 1.0), union=(0.95, 0.9))])
    assert rule["low"]["choice"] == "input" and "noisy" not in rule
    # the lower error, but more surface where there is none on one input: not allowed
    rule = choose([row(0.0, input=(0.5, MAX_SPURIOUS * 1.5), union=(0.9, 1.0)), row(0.5, input=(2.0, 1), union=(2, 1))])
    assert rule["low"]["choice"] == "union" and rule["low"]["allowed"] == ["charts", "union"]
    assert rule["noisy"]["choice"] == "charts"


def test_the_mesh_from_default_is_the_benchmarks_rule():
    # below the low-noise threshold the default is the rule's choice for that side; above it the
    # charts, which the rule must also have chosen there
    import json

    from dgp.patches import BUDGET_RHO, LOW_NOISE_MESH_FROM, mesh_from_for

    record = json.loads((Path(__file__).resolve().parents[2] / "benchmarks/results/mesh_from.json").read_text())
    assert record["rule"]["low"]["choice"] == LOW_NOISE_MESH_FROM
    assert sum(1 for r in record["rows"] if r["ratio"] < BUDGET_RHO) >= 4
    for r in record["rows"]:
        expected = LOW_NOISE_MESH_FROM if r["ratio"] < BUDGET_RHO else "charts"
        assert mesh_from_for(r["ratio"], 1.0) == expected, r["input"]
    if "noisy" in record["rule"]:
        assert record["rule"]["noisy"]["choice"] == "charts"


def test_outlier_rule_catches_the_most_strays_within_the_false_drop_budget():
    from benchmarks.outliers import MAX_FALSE, choose, fit_rule

    def row(kind, grid):
        return {"kind": kind, "points": 10_000, "outliers": 100 if kind != "none" else 0, "grid": grid}

    budget = int(MAX_FALSE * 10_000)
    rows = [
        # the lowest thresholds catch the most but drop too many good points of a clean scan
        row("none", {"3,0.1,5": [budget + 1, 0], "4,0.2,10": [budget, 0], "5,0.2,10": [0, 0]}),
        row("near", {"3,0.1,5": [0, 90], "4,0.2,10": [0, 60], "5,0.2,10": [0, 60]}),
    ]
    rule = choose(rows)
    # ties between allowed triples go to the larger thresholds
    assert (rule["factor"], rule["spacing_ratio"], rule["isolation"]) == (5.0, 0.2, 10.0)
    assert (rule["allowed"], rule["caught"]) == (2, 60)

    def fit(off, on):
        return {"dgp": {"off": {"error": off[0], "spurious": off[1]}, "on": {"error": on[0], "spurious": on[1]}}}

    assert fit_rule([fit((1, 2), (1.01, 1.5)), fit((1, 1), (1, 1))], 4.5)["default"] == 4.5
    assert fit_rule([fit((1, 2), (1.05, 1.5)), fit((1, 1), (1, 1))], 4.5)["default"] == 0.0  # one input worse
    assert fit_rule([fit((1, 1), (1, 1))], 4.5)["default"] == 0.0  # nothing gained


def test_outlier_benchmark_scores_the_grid_and_open3d_and_packs_its_record():
    import json

    from benchmarks.outliers import FACTORS, ISOLATIONS, SPACING_RATIOS, add_outliers, distances, pack, row_of, unpack

    rng = np.random.default_rng(0)
    d = rng.normal(size=(8000, 3))
    sphere = d / np.linalg.norm(d, axis=1, keepdims=True) + 0.002 * rng.normal(size=(8000, 3))
    pts, is_out = add_outliers(sphere, "uniform", 0.01, seed=0)
    assert is_out.sum() == 80 and len(pts) == 8080
    row = row_of("sphere", "uniform", pts, is_out, distances(pts, seed=0))
    assert len(row["grid"]) == len(FACTORS) * len(SPACING_RATIOS) * len(ISOLATIONS)
    strict = row["grid"][f"{FACTORS[0]:g},{SPACING_RATIOS[0]:g},{ISOLATIONS[0]:g}"]
    loose = row["grid"][f"{FACTORS[-1]:g},{SPACING_RATIOS[-1]:g},{ISOLATIONS[-1]:g}"]
    assert strict[0] >= loose[0] and strict[1] >= loose[1] and strict[1] >= 40  # most strays are far off the sphere
    assert 0 <= row["open3d"][1] <= 80
    far, is_far = add_outliers(sphere, "far", 0.001, seed=0)
    assert is_far.sum() == 8 and (np.abs(far[is_far]) <= 3.1).all()
    rec = {"filter": {"rows": [row], "real": row, "rule": {}}}
    assert unpack(json.loads(pack(rec))) == rec


def test_the_outlier_default_is_the_benchmarks_rule():
    import json

    from dgp.pointcloud import OUTLIER_FACTOR, OUTLIER_ISOLATION, OUTLIER_SPACING

    record = json.loads((Path(__file__).resolve().parents[2] / "benchmarks/results/outliers.json").read_text())
    rule = record["filter"]["rule"]
    assert (OUTLIER_SPACING, OUTLIER_ISOLATION) == (rule["spacing_ratio"], rule["isolation"])
    assert OUTLIER_FACTOR == record["fit"]["rule"]["default"]
    assert record["fit"]["rule"]["default"] in (0.0, rule["factor"])


def test_killing_a_benchmark_stops_the_runs_it_started(tmp_path):
    """A benchmark killed mid-run (``pkill -f script.py``) takes its measured children with it: the
    grandchild here plays the ``dgp reconstruct`` that `run_measured` wraps."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pidfile = tmp_path / "child.pid"
    child = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    bench = f"from benchmarks._util import run_measured; run_measured([{sys.executable!r}, '-c', {child!r}])"
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen([sys.executable, "-c", bench], cwd=root, env=dict(os.environ, PYTHONPATH=root))
    deadline = time.time() + 60
    while not (pidfile.exists() and pidfile.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    pid = int(pidfile.read_text())
    os.kill(pid, 0)  # running
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    for _ in range(300):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the measured child outlived the benchmark that started it")


def test_discrepancy_stops_read_off_the_loss_trace():
    """A τ the run did not watch stops where the rule would have (the first loss at most τσ²); where the
    run ended before it could, the table leaves it blank rather than guess."""
    from benchmarks.denoise_stop import disc_stop, picks

    run = {
        "loss": [1.0, 0.5, 0.3, 0.2],
        "psnr_avg": [10.0, 11.0, 12.0, 13.0],
        "psnr": [9.0, 10.0, 11.0, 12.0],
        "stops": {"variance": None, "disc 0.4": 2},
        "chosen": {"variance": None},
    }
    assert disc_stop(run, 0.4, 1.0, budget=10) == 2  # as watched
    assert disc_stop(run, 0.3, 1.0, budget=10) == 2  # read off the trace: 0.3 <= 0.3
    assert disc_stop(run, 0.25, 1.0, budget=10) == 3
    assert disc_stop(run, 0.1, 1.0, budget=10) is ...  # the run ended first: unknown
    assert disc_stop(run, 0.1, 1.0, budget=4) is None  # the whole budget ran: never stopped
    got = picks(run, 10, taus=(0.4, 0.25, 0.1), sigma=1.0)
    assert (got["disc 0.4"], got["disc 0.25"], got["disc 0.25 raw"]) == (12.0, 13.0, 12.0)
    assert got["disc 0.1"] is None and got["var/disc 0.1"] is None


def test_denoise_stop_keeps_the_priors_it_does_not_rerun(tmp_path, monkeypatch):
    from benchmarks import denoise_stop

    monkeypatch.setattr(denoise_stop, "bm3d_denoise", lambda y: y)  # the reference is not under test here
    out = tmp_path / "stop.md"
    common = ["--size", "64", "--steps", "3", "--images", "brick", "--taus", "0.9,1.5", "--out", str(out)]
    denoise_stop.main([*common, "--priors", "dd"])
    denoise_stop.main([*common, "--priors", "dip"])
    text = out.read_text()
    assert "## dd" in text and "## dip" in text
    assert text.count("--priors dd") == 1 and text.count("--priors dip") == 1 and "min in all" in text
    denoise_stop.main([*common, "--priors", "dip", "--seed", "1"])  # other noise: nothing to keep
    text = out.read_text()
    assert "## dd" not in text and "## dip" in text


def test_clean_charts_signs_distances_and_reports_ratios():
    import trimesh

    from benchmarks import clean_charts

    sphere = trimesh.creation.icosphere(subdivisions=4)
    d = np.array([[0, 0, 1.1], [0, 0, 0.9], [0, 0.95, 0]])
    s = clean_charts.signed_distances(sphere, d)
    assert s[0] > 0.09 and s[1] < -0.09 and s[2] < -0.04  # outside positive, inside negative
    pts, _, centre = clean_charts.crop_ball(sphere.vertices, sphere.vertex_normals, 0.25, 2 * np.sqrt(3))
    assert len(pts) < len(sphere.vertices) and np.all(np.linalg.norm(pts - centre, axis=1) < 0.5 * np.sqrt(3))
    keys = ("dense", "data")
    row = {f"{k}_{m}": 1e-4 for k in keys for m in ("mean", "p50", "p90", "signed")}
    rows = [
        dict(row, shape="s", noise=0.0, variant="defaults", patches=3, seconds=1.0),
        dict(row, shape="s", noise=0.0, variant="3x local steps", patches=3, seconds=3.0, dense_mean=5e-5),
        dict(row, shape="s", noise=0.001, variant="defaults", patches=3, seconds=1.0, dense_mean=2e-4),
        dict(row, shape="s", noise=0.001, variant="3x local steps", patches=3, seconds=3.0, dense_mean=3e-4),
    ]
    args = type("A", (), {"points": 10, "crop": 0.1})()
    text = clean_charts.report(rows, "cmd", 1.0, args)
    assert "| s | 0% | 3x local steps | 3 | 5.000e-05 |" in text and "| 0.500 | 3 |" in text
    assert "| s | 0.1% | 3x local steps | 3 | 3.000e-04 |" in text and "| 1.500 | 3 |" in text  # per noise level
