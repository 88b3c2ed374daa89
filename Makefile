# The commands the README names. Each one sets up what it needs first.
.PHONY: setup demo test test-slow bench data

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
