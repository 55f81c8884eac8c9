# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test install lint typecheck imports pytest benchmarks fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/tradecover db upgrade
	$(BIN)/tradecover demo load --if-empty > /dev/null  # the progress bar shows on stderr
	$(BIN)/tradecover demo logins
	@echo "Serving on http://$(HOST):$(PORT)  (API docs: http://$(HOST):$(PORT)/docs)"
	$(BIN)/tradecover serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/ruff format --check src tests benchmarks fuzz

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# PostgreSQL tests run when the server answers (CI requires them: TRADECOVER_REQUIRE_POSTGRES=1).
pytest: install
	@if [ -z "$$TRADECOVER_TEST_DATABASE_URL" ] && $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		export TRADECOVER_TEST_DATABASE_URL='$(PG_URL)'; echo "PostgreSQL reachable: running the suite on SQLite and PostgreSQL"; \
	else [ -n "$$TRADECOVER_TEST_DATABASE_URL" ] || echo "PostgreSQL not reachable: SQLite only"; fi; \
	$(BIN)/pytest -n 2 -p no:cacheprovider

test: lint typecheck imports pytest

# Longer fuzzing of the ledger and e-invoice parsers (Hypothesis; atheris targets are in fuzz/).
fuzz: install
	TRADECOVER_FUZZ_EXAMPLES=$${TRADECOVER_FUZZ_EXAMPLES:-20000} $(BIN)/pytest -p no:cacheprovider -q \
		tests/unit/ingest/test_ledger_parsers_fuzz.py tests/unit/ingest/test_einvoice_fuzz.py

benchmarks: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis tradecover.db*
