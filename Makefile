# The README's two commands: `make run` (the main job, local) and `make test`.
SHELL := bash
PY := python3
VENV = $(shell $(PY) -m infra.bootstrap venv-path)
export PYTHONPATH := $(CURDIR)

.PHONY: help bootstrap run test lint format
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

bootstrap: ## install and cache everything the run and the tests need
	$(PY) -m infra.bootstrap base

run: bootstrap ## the main job: the whole pipeline on local real services
	$(VENV)/bin/python -m app.cli pipeline

test: bootstrap ## the test suite (starts its own real services)
	$(PY) -m infra.bootstrap checkov
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: bootstrap ## ruff lint and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: bootstrap ## ruff format in place
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .
