# The commands the README names. Each one sets up what it needs first.
.PHONY: setup demo test test-slow bench bench-real bench-normals bench-quick bench-imageset bench-denoise-stop bench-learned bench-million bench-speed bench-matching bench-images bench-fourier data docs

setup:
	bash scripts/setup.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

test-slow:
	bash scripts/test.sh --slow

data: setup
	.venv/bin/python scripts/make_data.py

# Refresh the tables that README.md and docs/ quote from benchmarks/results/ (each bench target ends with it).
docs: setup
	.venv/bin/python benchmarks/collect.py

# The surface benchmark (every shape and noise level, pictures; about 45 minutes on 2 cores).
bench: setup
	.venv/bin/python benchmarks/surface.py --threads 2
	.venv/bin/python benchmarks/collect.py

# The real SRB scan and 100,000-point scans of two meshes (about an hour on 2 cores).
bench-real: setup
	.venv/bin/python benchmarks/real.py --threads 2 --shapes stanford-bunny,fandisk --noises 0,0.001
	.venv/bin/python benchmarks/collect.py

# The normal term's weight with and without it on 12 scans: the rule behind --normal-weight auto (about an hour).
bench-normals: setup
	.venv/bin/python benchmarks/normal_weight.py --threads 2
	.venv/bin/python benchmarks/collect.py

# Every image task on 8 images of different character beside its classical baseline (hours on 2 cores;
# --quick: minutes). Installs the benchmark's extra (BM3D).
bench-imageset: setup
	.venv/bin/python -m pip install -q -e ".[bench]"
	.venv/bin/python benchmarks/imageset.py --threads 2
	.venv/bin/python benchmarks/collect.py

# Stopping rules for denoising read off the same fits across the image set: the rule behind the denoising
# default's --stop and --tau (about an hour on 2 cores). Installs the benchmark's extra (BM3D).
bench-denoise-stop: setup
	.venv/bin/python -m pip install -q -e ".[bench]"
	.venv/bin/python benchmarks/denoise_stop.py --threads 2
	.venv/bin/python benchmarks/collect.py

bench-quick: setup
	.venv/bin/python benchmarks/surface.py --threads 2 --quick
	.venv/bin/python benchmarks/collect.py

# Batched and blocked against one-at-a-time fitting, the arithmetic ceiling, and the matching schedule (about 5 minutes).
bench-speed: setup
	.venv/bin/python benchmarks/speed.py --threads 2 --points 256,32
	.venv/bin/python benchmarks/collect.py

# The exact matching's solvers on the CPU, and the sample fit with emd and with lsa (about 10 minutes).
bench-matching: setup
	.venv/bin/python -m pip install -q -e ".[bench]"
	.venv/bin/python benchmarks/matching.py --threads 2 --fit
	.venv/bin/python benchmarks/collect.py

# Image priors at the CPU size (128x128; about 45 minutes on 2 cores).
bench-learned: setup
	.venv/bin/python benchmarks/learned.py --threads 2
	.venv/bin/python benchmarks/collect.py

# A 1,000,000-point scan of the sample bunny: DGP stage by stage against Poisson d8/d9.
bench-million: setup
	.venv/bin/python benchmarks/million.py --threads 2

bench-images: setup
	.venv/bin/python benchmarks/images.py --size 128 --threads 2
	.venv/bin/python benchmarks/collect.py

# The coordinate MLP's Fourier scale rule against fixed scales (128x128; about 31 minutes on 2 cores).
bench-fourier: setup
	.venv/bin/python benchmarks/fourier_scale.py --size 128 --threads 2
	.venv/bin/python benchmarks/collect.py
