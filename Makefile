# Vigie — two commands on a fresh machine: `make run`, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run demo serve test test-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: install, build the demo warehouse and serve the observatory on http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/vigie demo
	$(BIN)/vigie serve --host $(HOST) --port $(PORT)

demo: $(STAMP)
	$(BIN)/vigie demo

serve: $(STAMP)
	$(BIN)/vigie serve --host $(HOST) --port $(PORT)

## test-deps: Debian packages the tests need (PostgreSQL + PostGIS), installed only when missing
test-deps:
	bash scripts/install-test-deps.sh

## test: the whole suite, on DuckDB and on a throwaway PostgreSQL/PostGIS cluster
test: $(STAMP) test-deps
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) vigie.duckdb vigie.duckdb.wal build out
