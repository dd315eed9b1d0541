# The README's two commands: `make up` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MODELS_DIR ?= models
export U2NET_HOME := $(abspath $(MODELS_DIR))

.PHONY: up test lint format models install install-dev clean help bench-colour bench-crawl

help:
	@echo "make up    - set up (venv, packages, model weights) and run the local stack"
	@echo "make test  - set up the dev extras and run the whole test suite offline"
	@echo "make lint  - ruff + mypy"
	@echo "make bench-colour - colour engine benchmark (bench/results/colour.md)"
	@echo "make bench-crawl  - crawler benchmark (bench/results/crawl.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[aws,api,crawl,vision]"
	$(BIN)/python -m pip install --quiet --no-deps mediapipe==0.10.21
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[aws,api,crawl,vision,infra,dev]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[aws,api,vision,dev,bench]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

models: $(VENV)/.installed
	$(BIN)/python -m studiolab.runtime.fetch_models --dest $(MODELS_DIR)

up: install models
	$(BIN)/studiolab up --demo

test: install-dev models chromium node_modules/.installed
	$(BIN)/python -m pytest

# The pinned CDK CLI (package.json) for the CLI synth tests in tests/infra.
node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	touch $@

# Browser tests drive Debian's Chromium; a fresh machine has none, so install it when missing.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

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

# API export benchmark -> bench/results/api-export.md (~3 min: 10,000 images, our export vs
# `zip -0 -r`, 5 alternating runs; needs `zip`: apt-get install -y zip).
.PHONY: bench-api-export
bench-api-export: $(VENV)/.installed
	$(BIN)/python -m bench.api.export_bench $(BENCH_ARGS)

# Items-list latency benchmark -> bench/results/api-list.md (~40 s: 10,000 items, 50 concurrent
# keep-alive clients for 20 s against the local server; target p95 <= 50 ms).
# `make bench-api-list BENCH_ARGS="--think-ms 250"` for a paced instead of a closed-loop load.
.PHONY: bench-api-list
bench-api-list: $(VENV)/.installed
	$(BIN)/python -m bench.api.list_latency $(BENCH_ARGS)

# Synthesise the CDK app (no Docker, no AWS credentials, no notices/telemetry): the CLI comes
# from package.json (npm ci); the template lands in cdk.out/ and is checked with cfn-lint.
# The domain layer's wheels (cp312 manylinux) are staged from PyPI into .cache/layer/<digest>/
# the first time a pin set + lock is seen; later synths are offline. Deploying: docs/deploy.md.
# After changing a pin of the layer: `make lock-layer` (re-resolves infra/layer-requirements.lock).
.PHONY: synth lock-layer
lock-layer: $(VENV)/.installed-dev
	$(BIN)/python -m infra.lock_layer

synth: $(VENV)/.installed-dev
	npm ci --no-fund --no-audit
	CDK_DISABLE_CLI_TELEMETRY=1 PATH="$(abspath $(BIN)):$$PATH" npx --no-install cdk synth --no-notices -q
	$(BIN)/cfn-lint --ignore-checks W3005 -- cdk.out/Studiolab.template.json

# Person / view / framing benchmark on hand-labelled UAB photos -> bench/results/pose.md
# (~2 min; needs ../shared/data/uab-clothing and stops with a message where it is absent).
.PHONY: bench-pose
bench-pose: $(VENV)/.installed
	$(BIN)/python -m bench.pose.eval $(BENCH_ARGS)

# Crawler benchmark -> bench/results/crawl.md + .json (politeness, extraction F1 vs extruct,
# throughput vs Scrapy; a few minutes). `BENCH_ARGS="--baseline DIR"` adds an older engine.
.PHONY: bench-crawl
bench-crawl: $(VENV)/.installed-bench
	$(BIN)/python -m bench.crawl.run $(BENCH_ARGS)
