# anchor: `make demo` runs the main job, `make test` runs every check. Both set up a fresh machine by
# themselves: a virtualenv in .venv (pip, from pyproject.toml), node_modules (npm ci, from package-lock.json)
# and the pinned Solidity compiler provisioned for py-solc-x/ape in .solcx (no download).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOLCX_DIR := $(CURDIR)/.solcx
SOLC_VERSION := 0.8.28
export SOLCX_BINARY_PATH := $(SOLCX_DIR)

.PHONY: setup test lint typecheck solhint pytest demo build clean

setup: $(VENV)/.installed node_modules/.installed $(SOLCX_DIR)/solc-v$(SOLC_VERSION)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(SOLCX_DIR)/solc-v$(SOLC_VERSION): $(VENV)/.installed node_modules/.installed
	$(BIN)/anchor provision-solc $(SOLCX_DIR)

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: setup
	$(BIN)/mypy

solhint: setup
	npx --no-install solhint --max-warnings 0 'contracts/**/*.sol'

pytest: setup
	$(BIN)/pytest

test: lint typecheck solhint pytest

build: setup
	$(BIN)/anchor build

demo: setup
	$(BIN)/anchor demo

clean:
	rm -rf $(VENV) node_modules $(SOLCX_DIR) .build .pytest_cache .mypy_cache .ruff_cache
