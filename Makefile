# Two commands for a fresh clone (only Python >= 3.11 and make needed):
#   make run   - install into .venv, migrate, load the demo data, serve the API
#   make test  - the test suite on SQLite (no server needed)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint format check-migrations bench bench-table clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/hub demo

# Tests run in TEST_WORKERS processes (pytest-xdist): most of a test's time is spent waiting
# on sockets, subprocesses and the database, so three overlap well on two cores.
TEST_WORKERS ?= 3

test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

# The same checks as .pre-commit-config.yaml: style, types, and the module boundaries
# (import contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check hub adapters tests migrations/env.py
	$(BIN)/ruff format --check hub adapters tests migrations/env.py
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format hub adapters tests migrations/env.py
	$(BIN)/ruff check --fix hub adapters tests migrations/env.py

# Models and migrations must agree (run against a scratch SQLite file by default).
check-migrations: install
	@tmp=$$(mktemp -d); HUB_DATA_DIR=$$tmp $(BIN)/hub db upgrade && HUB_DATA_DIR=$$tmp $(BIN)/hub db check; rc=$$?; rm -rf $$tmp; exit $$rc

# Every benchmark, then issue 14's table of figures with targets and 'before' values
# (BENCH_BEFORE=DIR: a checkout of the commit to compare with, measured in the same run).
# `make bench-table` measures only the quick figures (start-up, one renewal's cost).
BENCH_RESULTS := var/bench
BENCH_TABLE = $(BIN)/python -m tests.bench.summary --results $(BENCH_RESULTS) $(if $(BENCH_BEFORE),--before $(BENCH_BEFORE))

bench: install
	mkdir -p $(BENCH_RESULTS)
	$(BIN)/python -m tests.bench.bench_api --db both --out $(BENCH_RESULTS)/api.json
	$(BIN)/python -m tests.bench.bench_jobs --db both --out $(BENCH_RESULTS)/jobs.json
	$(BIN)/python -m tests.bench.bench_checks --json $(BENCH_RESULTS)/checks.json
	-$(BIN)/python -m tests.bench.bench_renewals --planner --json $(BENCH_RESULTS)/planner.json
	-$(BIN)/python -m tests.bench.bench_renewals --json $(BENCH_RESULTS)/storm.json
	$(BIN)/python -m tests.bench.bench_portal
	$(BENCH_TABLE)

bench-table: install
	$(BENCH_TABLE)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
