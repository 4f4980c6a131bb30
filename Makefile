# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench lint format clean

$(STAMP): pyproject.toml Makefile
	$(PY) -m venv $(VENV)
	# torch 2.13.0 first and explicitly: the CPU build on this machine's package client,
	# so that no later requirement pulls a multi-GB CUDA build.
	$(VPY) -m pip install -q "torch==2.13.0"
	$(VPY) -m pip install -q -e ".[all,test,bench]"
	touch $(STAMP)

demo: $(STAMP)
	$(VPY) -m convlens report --out report

test: $(STAMP)
	$(VPY) -m ruff check src tests benchmarks tools conftest.py
	$(VPY) -m ruff format --check src tests benchmarks tools conftest.py
	$(VPY) tools/check_layers.py
	$(VPY) -m pytest -n 2 -q

bench: $(STAMP)
	$(VPY) -m benchmarks $(ARGS)

lint: $(STAMP)
	$(VPY) -m ruff check src tests benchmarks tools conftest.py

format: $(STAMP)
	$(VPY) -m ruff format src tests benchmarks tools
	$(VPY) -m ruff check --fix src tests benchmarks tools

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
