# OpMaestro: `make run` serves the app, `make test` checks everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

FRONTEND := frontend
NPM_STAMP := $(FRONTEND)/node_modules/.installed-$(shell cat $(FRONTEND)/package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
SPA_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/public -type f 2>/dev/null) \
  $(wildcard $(FRONTEND)/index.html $(FRONTEND)/vite*.config.ts $(FRONTEND)/tsconfig*.json $(FRONTEND)/package.json) \
  $(FRONTEND)/scripts/precompress.mjs

.PHONY: run install test lint format typecheck openapi openapi-check migrate revision bench pytest clean \
  npm spa client client-check frontend-test size

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

$(NPM_STAMP): $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	@rm -f $(FRONTEND)/node_modules/.installed-* && touch $@

npm: $(NPM_STAMP)

# Built once, and again only when a source file is newer than the build. The build ends by
# precompressing dist/ (scripts/precompress.mjs); a failure anywhere removes index.html, so a
# half-built dist/ (say, without its .br and .gz files) is never taken for up to date.
$(FRONTEND)/dist/index.html: $(NPM_STAMP) $(SPA_SOURCES)
	cd $(FRONTEND) && npm run build --silent || (rm -f dist/index.html && exit 1)

spa: $(FRONTEND)/dist/index.html

client: openapi npm
	cd $(FRONTEND) && npm run generate --silent

client-check: npm
	cd $(FRONTEND) && npm run generate:check --silent

frontend-test: npm
	cd $(FRONTEND) && npm run typecheck --silent && npm test --silent

size: spa
	cd $(FRONTEND) && npm run size --silent

run: install migrate spa
	-@$(BIN)/opmaestro demo-admin
	$(BIN)/opmaestro serve

migrate: install
	$(BIN)/opmaestro migrate

revision: install
	@test -n "$(m)" || (echo 'usage: make revision m="what changed"' && exit 2)
	$(BIN)/opmaestro revision -m "$(m)"

lint: install npm
	$(BIN)/ruff check backend tests bench migrations
	$(BIN)/ruff format --check backend tests bench migrations
	cd $(FRONTEND) && npm run lint --silent

format: install npm
	$(BIN)/ruff check --fix backend tests bench migrations
	$(BIN)/ruff format backend tests bench migrations
	cd $(FRONTEND) && npm run format --silent

typecheck: install
	$(BIN)/mypy

openapi: install
	$(BIN)/opmaestro export-openapi

openapi-check: install
	@$(BIN)/opmaestro export-openapi --output .openapi-check.json >/dev/null
	@diff -q openapi/openapi.json .openapi-check.json >/dev/null || \
	  (rm -f .openapi-check.json; echo "openapi/openapi.json is out of date: run 'make openapi'"; exit 1)
	@rm -f .openapi-check.json

pytest: install
	$(BIN)/pytest

test: lint typecheck openapi-check client-check frontend-test spa pytest

bench: install spa
	$(BIN)/python bench/delivery.py
	$(BIN)/python bench/run.py
	$(BIN)/python bench/erasure.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/webhooks.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(FRONTEND)/node_modules $(FRONTEND)/dist test-artifacts
