# The README's two commands: `make run` (the main job, local) and `make test`.
SHELL := bash
PY := python3
VENV = $(shell $(PY) -m infra.bootstrap venv-path)
WH = $(VENV)/bin/python -m app.cli
export PYTHONPATH := $(CURDIR)

.PHONY: help bootstrap bootstrap-all run test lint format synth
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

bootstrap: ## install and cache what the main job needs (venv, Java/PostgreSQL, jars, OpenTofu + the AWS provider)
	$(PY) -m infra.bootstrap base deploy-toolchain

bootstrap-all: ## everything the tests need too (helm, kubeconform, checkov, the cdktf CLI)
	$(PY) -m infra.bootstrap base toolchain checkov cdktf-cli

run: bootstrap ## the main job: synth every environment, deploy `local` on the AWS emulator, run the pipeline into it
	$(WH) synth --all --outdir $(CURDIR)/cdktf.out
	$(WH) emulator --exec bash -c '$(WH) deploy local --outdir $(CURDIR)/cdktf.out && $(WH) pipeline'

test: bootstrap-all ## the test suite (starts its own real services)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

synth: bootstrap ## synthesize every environment into cdktf.out
	$(WH) synth --all

lint: bootstrap ## ruff lint and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: bootstrap ## ruff format in place
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .
