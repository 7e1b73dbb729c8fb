# Two commands on a fresh machine: `make run` (set up + the daemon) and `make test` (set up + every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run backtest test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,fast,research]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tradebus run

backtest: $(STAMP)
	$(BIN)/tradebus backtest

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check engine adapters strategies api tests
	$(BIN)/mypy --strict engine

lint: $(STAMP)
	$(BIN)/ruff check engine adapters strategies api tests
	$(BIN)/mypy --strict engine

bench: $(STAMP)
	$(BIN)/python tests/bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) results .pytest_cache .mypy_cache .ruff_cache .hypothesis
