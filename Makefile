# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
CHROMIUM := /usr/bin/chromium
# The browser tests drive Debian's Chromium; Playwright never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test install chromium lint typecheck imports pytest browser-tests benchmarks fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Debian's Chromium for the browser tests, installed with apt when missing (sudo only when not root).
# A failed install only warns here: the browser tests then skip, or fail under TRADECOVER_REQUIRE_BROWSER=1 (CI).
chromium:
	@[ -x $(CHROMIUM) ] || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); echo "Installing Debian's chromium for the browser tests"; \
		$$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	} || echo "warning: could not install chromium: the browser tests will skip (or fail in CI)" >&2

run: install
	$(BIN)/tradecover db upgrade
	$(BIN)/tradecover demo load --if-empty > /dev/null  # the progress bar shows on stderr
	$(BIN)/tradecover demo logins
	@echo "Portal: http://$(HOST):$(PORT)/login  (log in with a demo user above)   API docs: http://$(HOST):$(PORT)/docs"
	$(BIN)/tradecover serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/ruff format --check src tests benchmarks fuzz

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# PostgreSQL tests run when the server answers (CI requires them: TRADECOVER_REQUIRE_POSTGRES=1).
pytest: install chromium
	@if [ -z "$$TRADECOVER_TEST_DATABASE_URL" ] && $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		export TRADECOVER_TEST_DATABASE_URL='$(PG_URL)'; echo "PostgreSQL reachable: running the suite on SQLite and PostgreSQL"; \
	else [ -n "$$TRADECOVER_TEST_DATABASE_URL" ] || echo "PostgreSQL not reachable: SQLite only"; fi; \
	$(BIN)/pytest -n 2 --dist worksteal -p no:cacheprovider

test: lint typecheck imports pytest

# The portal in Chromium only (screenshots in test-artifacts/screenshots/).
browser-tests: install chromium
	$(BIN)/pytest -p no:cacheprovider -q tests/browser

# Longer fuzzing of the ledger and e-invoice parsers (Hypothesis; atheris targets are in fuzz/).
fuzz: install
	TRADECOVER_FUZZ_EXAMPLES=$${TRADECOVER_FUZZ_EXAMPLES:-20000} $(BIN)/pytest -p no:cacheprovider -q \
		tests/unit/ingest/test_ledger_parsers_fuzz.py tests/unit/ingest/test_einvoice_fuzz.py

benchmarks: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis test-artifacts tradecover.db*
