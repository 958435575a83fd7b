# gancourse: build the book, test everything, write chapters.
#
#   make book    build the full-size book into _build/html (executes every notebook)
#   make test    everything CI checks, in quick mode (GANCOURSE_QUICK=1)
#   make lab     JupyterLab on book/, from the project's virtual environment
#   make clean   remove _build/
#
# Every target installs what it needs into $(VENV) first, pinned by constraints.txt; the install
# is redone only when pyproject.toml or constraints.txt change.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# The virtual environment (override with `make VENV=path ...`) and the Python that creates it.
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed

# Run every tool from the venv, and let kernels started by nbclient/nbval find the venv's python.
export PATH := $(BIN):$(PATH)
unexport PYTHONPATH

# Where the books go: the full book, and the quick book that `make test` builds and checks.
BOOK_HTML := _build/html
QUICK_OUT := _build/quick
QUICK_HTML := $(QUICK_OUT)/_build/html
# The notebooks as nbval executed them (outputs kept): the quick book renders these.
EXECUTED := $(QUICK_OUT)/executed

# nbval: generous per-cell timeout (a full-size training cell takes minutes; quick ones seconds).
NBVAL_CELL_TIMEOUT ?= 900

.PHONY: help venv book test test-lint test-unit test-notebooks test-build test-browser bench bench-modes bench-book lab clean

help:
	@echo "make book    build the full book (every notebook executed at full size) into $(BOOK_HTML)"
	@echo "make test    quick mode: ruff, unit tests, nbval on every notebook, book build with -W, browser tests"
	@echo "make bench   throughput and time-to-quality benchmarks against a baseline loop (benchmarks/results/)"
	@echo "make bench-modes  the 10-seed mode-collapse table of the best recipes on the ring and the grid"
	@echo "make bench-book   execution time of every notebook, quick and full (long)"
	@echo "make lab     JupyterLab on book/ from the project's virtual environment"
	@echo "make venv    only create/update the virtual environment $(VENV)"
	@echo "make clean   remove _build/"

# ---------------------------------------------------------------------------------------------
# Virtual environment

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp records a finished install: nothing is reinstalled until pyproject.toml or
# constraints.txt change. The kernelspec is rewritten to point at this venv's python, so that
# jupyter-book (nbclient) runs notebooks with the same interpreter as everything else.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -c constraints.txt -e ".[book,test,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3
	touch $@

venv: $(STAMP)

# ---------------------------------------------------------------------------------------------
# The book

# Full size: GANCOURSE_QUICK is cleared whatever the caller's environment says. --all rebuilds
# every page, so every notebook runs against the current library (execution is forced in
# _config.yml).
book: $(STAMP)
	@unset GANCOURSE_QUICK; \
	TIMEFORMAT='==> book built in %0R s'; \
	time jupyter-book build --all .
	@echo "Open the book: file://$(abspath $(BOOK_HTML))/index.html"

# ---------------------------------------------------------------------------------------------
# Tests (quick mode). `make test` runs the four stages in order and stops at the first failure.

test test-lint test-unit test-notebooks test-build test-browser: export GANCOURSE_QUICK := 1

test: $(STAMP)
	@start=$$(date +%s); rc=0; \
	{ $(MAKE) --no-print-directory test-lint && \
	  $(MAKE) --no-print-directory test-unit && \
	  $(MAKE) --no-print-directory test-notebooks && \
	  $(MAKE) --no-print-directory test-build && \
	  $(MAKE) --no-print-directory test-browser; } || rc=$$?; \
	if [ $$rc -eq 0 ]; then verdict="all stages passed"; else verdict="FAILED"; fi; \
	echo "==> make test: $$verdict in $$(( $$(date +%s) - start )) s"; \
	exit $$rc

# (0) the linter (ruff, configured in pyproject.toml): style, unused names, import order, likely bugs.
test-lint: $(STAMP)
	@echo "==> [0/4] ruff check"
	@ruff check .

# (a) unit tests of the library and of the project files.
test-unit: $(STAMP)
	@echo "==> [1/4] unit tests"
	@TIMEFORMAT='==> [1/4] unit tests: %0R s'; \
	time pytest -m "not browser" tests

# (b) every notebook under book/ runs without error in the venv's kernel. Each notebook whose cells
# all pass is kept with its outputs in $(EXECUTED) (scripts/nbval_outputs.py), so that the quick
# book renders this run instead of executing every notebook a second time.
test-notebooks: $(STAMP)
	@echo "==> [2/4] notebooks under nbval"
	@rm -rf $(EXECUTED)
	@TIMEFORMAT='==> [2/4] notebooks: %0R s'; \
	time PYTHONPATH=scripts pytest -p no:cacheprovider -p nbval_outputs --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=$(NBVAL_CELL_TIMEOUT) --nbval-keep-outputs=$(EXECUTED) book

# (c) the quick book, warnings as errors, rendered from the notebooks that (b) executed (every
# notebook must have passed there; scripts/quick_book.py names any that is missing). It goes to
# its own folder so that it never overwrites the full book in $(BOOK_HTML).
test-build: $(STAMP)
	@echo "==> [3/4] quick book build (-W --keep-going) into $(QUICK_HTML)"
	@rm -rf $(QUICK_OUT)/_build $(QUICK_OUT)/src
	@TIMEFORMAT='==> [3/4] quick book: %0R s'; \
	time python scripts/quick_book.py $(EXECUTED) $(QUICK_OUT) -W --keep-going

# (d) real-browser tests (marker `browser`) against the quick book. pytest's exit code 5
# ("no tests collected") only means that no test carries the marker yet: not a failure.
test-browser: $(STAMP)
	@echo "==> [4/4] browser tests against $(QUICK_HTML)"
	@if [ ! -f $(QUICK_HTML)/index.html ]; then \
	  echo "no quick book in $(QUICK_HTML): run 'make test-build' first" >&2; exit 1; fi
	@TIMEFORMAT='==> [4/4] browser tests: %0R s'; \
	set +e; \
	time GANCOURSE_BOOK_HTML="$(abspath $(QUICK_HTML))" GANCOURSE_SCREENSHOTS="$(abspath _build/screenshots)" pytest -p no:cacheprovider -m browser tests; \
	rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "==> [4/4] no test is marked 'browser': nothing to run"; rc=0; fi; \
	exit $$rc

# ---------------------------------------------------------------------------------------------
# Benchmarks (see benchmarks/README.md). Each writes a JSON and a Markdown table, with a description
# of the machine, to benchmarks/results/. BENCH_ARGS passes options on, e.g. BENCH_ARGS="--threads 1".
BENCH_ARGS ?=

bench: $(STAMP)
	@unset GANCOURSE_QUICK; python benchmarks/run.py $(BENCH_ARGS)

bench-modes: $(STAMP)
	@unset GANCOURSE_QUICK; python benchmarks/mode_collapse.py $(BENCH_ARGS)

bench-book: $(STAMP)
	@unset GANCOURSE_QUICK; python benchmarks/book_times.py $(BENCH_ARGS)

# ---------------------------------------------------------------------------------------------
# Writing chapters

# Extra options for JupyterLab, e.g. `make lab LAB_ARGS=--no-browser`; as root it needs --allow-root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	jupyter lab $(LAB_ARGS) book

clean:
	rm -rf _build

# Write the repository URL and branch from _config.yml into every notebook's Colab install cell
# and "Open in Colab" link (tests/test_colab.py fails when a notebook drifts from it).
.PHONY: sync-colab
sync-colab: $(STAMP)
	python scripts/sync_colab.py
