# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install demo test test-slow test-all lint format bench-smoke clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install: $(STAMP)  ## create .venv and install the project (CPU torch 2.13.0 first)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build, first: any other torch pull brings gigabytes of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,loggers]'
	touch $(STAMP)

demo: install  ## the main job: gradient-free vs gradient-based at equal frames, then at equal wall-clock
	$(VENV)/bin/bench suite=demo
	$(VENV)/bin/bench suite=demo_wall budget.wall_seconds=$$($(PY) -m analysis.equal_cost results/demo)
	$(VENV)/bin/bench-publish results/demo --name equal_frames --root reports/demo
	$(VENV)/bin/bench-publish results/demo_wall --name equal_wall_clock --root reports/demo

test: install  ## the default test suite (CI runs this), one pytest-xdist worker per core
	$(VENV)/bin/pytest -n auto --dist loadgroup -m "not slow"

test-slow: install  ## the longer checks only (minutes each)
	$(VENV)/bin/pytest -m slow

test-all: install  ## everything
	$(VENV)/bin/pytest

lint: install  ## ruff
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff format .

clean:  ## remove the virtual environment (results/ is kept)
	rm -rf $(VENV)
