# synergia-core developer commands. `make demo` and `make test` set up
# everything they need (a .venv with the right extras) on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BASE_STAMP := $(VENV)/.installed-base
DEV_STAMP := $(VENV)/.installed-dev
PIP_FLAGS ?= --quiet --disable-pip-version-check
PORT ?= 8000
BENCH_ARGS ?=
HOST ?= 127.0.0.1

.DEFAULT_GOAL := help
.PHONY: help demo serve test lint typecheck pytest cov bench bench-quick migration clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(BASE_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install $(PIP_FLAGS) -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install $(PIP_FLAGS) -e '.[dev,postgres,async]'
	touch $@ $(BASE_STAMP)

demo: $(BASE_STAMP) ## run the quickstart on the embedded SQLite default (in a new .demo/)
	rm -rf .demo && mkdir .demo
	cd .demo && $(abspath $(PY)) ../examples/quickstart.py

serve: $(DEV_STAMP) ## serve the FastAPI example and its chat page on http://127.0.0.1:8000/ (make serve PORT=8080)
	@echo "Chat page: http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/v1/docs; Ctrl+C stops)"
	$(PY) -m uvicorn --factory examples.fastapi_app.app:create_app --host $(HOST) --port $(PORT)

test: lint typecheck pytest ## ruff, mypy --strict and the whole suite on SQLite and PostgreSQL

lint: $(DEV_STAMP)
	$(PY) -m ruff check src tests examples benchmarks tools
	$(PY) -m ruff format --check src tests examples benchmarks tools

typecheck: $(DEV_STAMP)
	$(PY) -m mypy src tests examples benchmarks tools

pytest: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

cov: $(DEV_STAMP) ## the test suite with a coverage report
	$(PY) -m coverage erase
	COVERAGE_PROCESS_START=pyproject.toml $(PY) -m coverage run -m pytest $(PYTEST_ARGS)
	$(PY) -m coverage combine
	$(PY) -m coverage report

bench: $(DEV_STAMP) ## the benchmarks against the driver floor, with targets (make bench BENCH_ARGS=--markdown)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

bench-quick: $(DEV_STAMP) ## a shorter benchmark run
	$(PY) benchmarks/run.py --quick $(BENCH_ARGS)

migration: $(DEV_STAMP) ## autogenerate a schema revision: make migration MSG="add x"
	@test -n "$(MSG)" || (echo 'usage: make migration MSG="what changes"' && exit 2)
	$(PY) tools/new_migration.py "$(MSG)"

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage* htmlcov build dist
