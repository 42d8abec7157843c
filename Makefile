# The two commands a newcomer needs: `make up` (run the platform) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
export DATAOS_HOME ?= $(CURDIR)/.dataos
export DATAOS_API_URL ?= http://127.0.0.1:7400
API_PORT := 7400

.PHONY: chromium axe install install-dev install-metis up down status test lint typecheck imports pytest bench kernel clean

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"

# OPA 1.20.2 in-process (the reference Rego engine) declares Python >= 3.14 but runs on 3.11,
# so it cannot sit in uv.lock: it is pinned by hash in requirements/opa-golib.txt instead.
# `uv sync --inexact` leaves it in place, and it is installed only when the pinned version
# is not (so a second `make up` installs nothing). Inexact syncs also keep the test tools
# after `make test`; a package dropped from uv.lock stays until `make clean`.
OPA_GOLIB_VERSION := $(shell sed -n 's/^opa-golib-python-bindings==\([^ ]*\).*/\1/p' \
	requirements/opa-golib.txt)
OPA_GOLIB_INSTALLED := $(BIN)/python -c "import importlib.metadata as m, sys; \
	sys.exit(m.version('opa-golib-python-bindings') != '$(OPA_GOLIB_VERSION)')" 2>/dev/null
OPA_GOLIB := $(OPA_GOLIB_INSTALLED) || uv pip install --quiet --python $(BIN)/python \
	--no-deps --require-hashes --python-version 3.14 -r requirements/opa-golib.txt

install: uv install-metis ## install the platform from the lock file into .venv
	uv sync --frozen --no-dev --inexact
	@$(OPA_GOLIB)

install-dev: uv chromium axe install-metis ## install the platform and the test tools from the lock file
	uv sync --frozen --inexact
	@$(OPA_GOLIB)

# The scanner stack runs the real openmetadata-ingestion in its own locked environment
# (metis-ingestion/uv.lock): it pins antlr4 4.9.2, which breaks Dagster, so it can never sit in
# .venv. An exact sync: a second run installs nothing.
METIS_VENV := .venv-metis

install-metis: uv ## install the scanner's openmetadata-ingestion from its lock file into .venv-metis
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(METIS_VENV) uv sync --frozen --project metis-ingestion

# The browser test drives Debian's Chromium through Playwright (never `playwright install`).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "the browser test needs Debian's chromium: sudo apt-get install -y chromium"; exit 1; \
		fi; }

# The accessibility test injects axe-core, pinned by tests/browser/axe/package-lock.json.
axe:
	npm ci --prefix tests/browser/axe --ignore-scripts --no-audit --no-fund

up: install ## start the API server on embedded defaults and apply resources/
	@bash scripts/up.sh

down: ## stop what `make up` started
	@bash scripts/down.sh

test: install-dev lint typecheck imports pytest ## everything CI runs

lint:
	$(BIN)/ruff check dataos_defs tests benchmarks terraform
	$(BIN)/ruff format --check dataos_defs tests benchmarks terraform

typecheck:
	$(BIN)/mypy

imports:
	$(BIN)/lint-imports

# One worker per core (pytest-xdist); a test file stays on one worker so its module fixtures
# (servers, instances) start once. PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= auto

pytest:
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile

bench: install-dev ## performance figures of the issues' targets
	$(BIN)/python benchmarks/run.py

# The cloud kernel (issue 12): the CDKTF app's packages are the lock's `kernel` group, a default
# group, so the same sync installs them. KERNEL_ARGS= (empty) reads the desired state from the
# running platform through the API instead of resources/.
CLOUD ?= aws
KERNEL_ARGS ?= -f resources -R

kernel: uv ## synthesize the cloud kernel for CLOUD=aws|gcp|azure into $DATAOS_HOME/kernel/CLOUD
	uv sync --frozen --inexact
	$(BIN)/dataos-ctl kernel synth --cloud $(CLOUD) $(KERNEL_ARGS)

clean:
	rm -rf $(VENV) $(METIS_VENV) .mypy_cache .ruff_cache .pytest_cache
