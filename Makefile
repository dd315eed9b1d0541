# The README's two commands: `make up` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MODELS_DIR ?= models
export U2NET_HOME := $(abspath $(MODELS_DIR))

.PHONY: up test lint format models install install-dev clean help bench-colour

help:
	@echo "make up    - set up (venv, packages, model weights) and run the local stack"
	@echo "make test  - set up the dev extras and run the whole test suite offline"
	@echo "make lint  - ruff + mypy"
	@echo "make bench-colour - colour engine benchmark (bench/results/colour.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[aws,api,crawl,vision]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[aws,api,crawl,vision,dev]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[aws,api,vision,dev,bench]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

models: $(VENV)/.installed
	$(BIN)/python -m studiolab.runtime.fetch_models --dest $(MODELS_DIR)

up: install models
	$(BIN)/studiolab up

test: install-dev models
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint containers/*/Dockerfile

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Colour engine benchmark -> bench/results/colour.md + .json (~10 min on 2 cores);
# `make bench-colour BENCH_ARGS=--quick` for a 1-2 minute check (writes colour-quick.*).
bench-colour: $(VENV)/.installed-bench models
	$(BIN)/python -m bench.colour.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
