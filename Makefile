# OpMaestro: `make run` serves the app, `make test` checks everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run install test lint format typecheck openapi openapi-check migrate revision bench pytest clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install migrate
	-@$(BIN)/opmaestro demo-admin
	$(BIN)/opmaestro serve

migrate: install
	$(BIN)/opmaestro migrate

revision: install
	@test -n "$(m)" || (echo 'usage: make revision m="what changed"' && exit 2)
	$(BIN)/opmaestro revision -m "$(m)"

lint: install
	$(BIN)/ruff check backend tests bench migrations
	$(BIN)/ruff format --check backend tests bench migrations

format: install
	$(BIN)/ruff check --fix backend tests bench migrations
	$(BIN)/ruff format backend tests bench migrations

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

test: lint typecheck openapi-check pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
