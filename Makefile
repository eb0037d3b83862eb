# Vigie — two commands on a fresh machine: `make run`, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

# Front end: npm project in web/, bundled by Vite into the Python package (served by vigie.publish.web).
WEB          := web
NODE_STAMP   := $(WEB)/node_modules/.package-lock.json
BUNDLE       := src/vigie/publish/static/dist/manifest.json
WEB_SOURCES  := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/vite.config.js $(WEB)/package.json

.PHONY: run demo serve web test test-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## web: install the front end's npm packages (when package-lock.json changed) and build the bundle (when missing or older than web/src)
$(NODE_STAMP): $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

$(BUNDLE): $(NODE_STAMP) $(WEB_SOURCES)
	cd $(WEB) && npm run build

web: $(BUNDLE)

## run: install, build the front end and the demo warehouse, and serve the observatory on http://$(HOST):$(PORT)
run: $(STAMP) $(BUNDLE)
	$(BIN)/vigie demo
	$(BIN)/vigie serve --host $(HOST) --port $(PORT)

demo: $(STAMP)
	$(BIN)/vigie demo

serve: $(STAMP) $(BUNDLE)
	$(BIN)/vigie serve --host $(HOST) --port $(PORT)

## test-deps: Debian packages the tests need (PostgreSQL + PostGIS, Chromium, GDAL, LibreOffice), installed only when missing
test-deps:
	bash scripts/install-test-deps.sh

## test: the whole suite (DuckDB, a throwaway PostgreSQL/PostGIS cluster, headless Chromium); the tests of one
## file stay on one worker, so that a module's demo warehouse is built once
test: $(STAMP) test-deps $(BUNDLE)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

## bench: performance figures, each against a plain pandas/geopandas baseline or the other route (see the scripts)
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/cube_national.py
	$(BIN)/python benchmarks/api_latency.py
	$(BIN)/python benchmarks/tiles.py
	$(BIN)/python benchmarks/map_first_paint.py
	$(BIN)/python benchmarks/import_census.py
	$(BIN)/python benchmarks/pdf_fiches.py
	$(BIN)/python benchmarks/spatial_join_establishments.py
	$(BIN)/python benchmarks/import_sirene_zones.py

clean:
	rm -rf $(VENV) vigie.duckdb vigie.duckdb.wal build out $(WEB)/node_modules src/vigie/publish/static/dist tests/artifacts
