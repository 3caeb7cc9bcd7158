# The one entry point for people: `make help` lists the targets.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13.0/bin/python3.13) $(shell command -v python3.13))
VENV := .venv
BIN := $(VENV)/bin
# Three on two cores: many tests wait on subprocesses (kubesim, Chromium, workers), so a
# third worker fills the time the other two wait (8.5 min instead of 9.6 for make test).
PYTEST_WORKERS ?= 3

.DEFAULT_GOAL := help
.PHONY: help venv run test test-fast lint format bench screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it (pyenv install 3.13.0) or set PYTHON=/path/to/python3.13"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed ## Create .venv with the pinned dependencies

run: venv ## Run the portal with demo data (SQLite, no services needed) on 127.0.0.1:8000
	bin/demo

test: venv ## Run the whole test suite (needs PostgreSQL, Redis, kubectl, Chromium: see README)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

test-fast: venv ## Run the tests that need no worker, browser, kubectl or Docker engine
	$(BIN)/pytest -m "not worker and not browser and not kubectl and not slow and not docker"

lint: venv ## ruff check, ruff format --check, the import contracts (lint-imports), the types (mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: venv ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv ## Run the benchmarks in bench/ (not part of make test)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

screenshots: venv ## Drive Chromium over a throw-away demo into docs/screenshots/*.png
	$(BIN)/python bin/screenshots

clean: ## Remove the demo database, broker files and caches (keeps .venv)
	rm -rf var staticfiles .pytest_cache .ruff_cache .import_linter_cache .mypy_cache
