# The two commands of the README. Each one sets itself up on first use.
.PHONY: demo test setup bench bench-quality
setup:
	@bash scripts/setup.sh
demo: setup
	.venv/bin/twoface demo
test: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy
	.venv/bin/python -m pytest -n 2 -q tests
bench: setup
	.venv/bin/python bench/extract.py && .venv/bin/python bench/train.py && .venv/bin/python bench/convert.py
bench-quality: setup
	.venv/bin/python bench/quality.py --configs baseline fixed --iterations 367
