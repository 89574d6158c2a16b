# anchor: `make demo` runs the main job, `make test` runs every check. Both set up a fresh machine by
# themselves: a virtualenv in .venv (pip, from pyproject.toml), node_modules (npm ci, from package-lock.json)
# and the pinned Solidity compiler provisioned for py-solc-x/ape in .solcx (no download).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOLCX_DIR := $(CURDIR)/.solcx
SOLC_VERSION := 0.8.28
export SOLCX_BINARY_PATH := $(SOLCX_DIR)

.PHONY: setup test lint typecheck solhint pytest demo build clean fault-table load-test

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
	$(BIN)/ruff check src tests benchmarks scripts tools brownie
	$(BIN)/ruff format --check src tests benchmarks scripts tools brownie

typecheck: setup
	$(BIN)/mypy

solhint: setup
	npx --no-install solhint --max-warnings 0 'contracts/**/*.sol'

pytest: setup
	$(BIN)/pytest

test: lint typecheck solhint contract-checks ape-test pytest

build: setup
	$(BIN)/anchor build

demo: setup
	$(BIN)/anchor demo

# The fault table with five seeds per row (`make test` runs one); PostgreSQL rows need ANCHOR_TEST_DATABASE_URL
# (`.ci/run --postgres-only` prints it). Writes the Markdown table the README shows to test-artifacts/.
fault-table: setup
	mkdir -p test-artifacts
	$(BIN)/python benchmarks/fault_table.py --seeds 5 --markdown test-artifacts/fault-table.md

# `anchor serve` under 50 concurrent clients for 60 s (locust, headless): requests/s and latency; not in `make test`.
load-test: setup
	$(BIN)/python benchmarks/serve_load.py --users 50 --duration 60

# ---- contract assurance of the registry (README "Contract assurance"): forge from npm (@foundry-rs/forge) and
# slither from PyPI, both compiling with the solc look-alike in .solcx (foundry.toml): nothing is downloaded.
# FORGE is the native binary: npm's node_modules/.bin/forge wrapper exits 0 even when tests fail.
FORGE = $(firstword $(wildcard $(CURDIR)/node_modules/@foundry-rs/forge-*/bin/forge))
SLITHER_VENV := .venv-slither
CHECK_FORGE = @test -x "$(FORGE)" || { echo "no native forge under node_modules/@foundry-rs/: run npm ci" >&2; exit 1; }

.PHONY: contract-checks contract-test contract-coverage slither contract-mutation contract-mutation-full

contract-checks: contract-test contract-coverage slither

# tests/foundry/: unit and fuzz tests (1,000 runs), invariants (1,000 sequences of 20 calls each).
contract-test: setup
	$(CHECK_FORGE)
	$(FORGE) fmt --check tests/foundry
	$(FORGE) test

# Fails unless the unit tests cover every branch of CredentialRegistry.
contract-coverage: setup
	$(CHECK_FORGE)
	$(BIN)/python tools/registry_coverage.py

# Its own virtualenv: slither's solc-select installs a `solc` that py-solc-x (ape) in .venv would pick up.
$(SLITHER_VENV)/.installed: tools/slither-requirements.txt
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet --upgrade pip
	$(SLITHER_VENV)/bin/pip install --quiet -r tools/slither-requirements.txt
	touch $@

# Clean: every finding fails, except those justified inline (`// slither-disable-next-line` with the reason).
slither: setup $(SLITHER_VENV)/.installed
	$(CHECK_FORGE)
	PATH="$(dir $(FORGE)):$$PATH" FOUNDRY_PROFILE=slither $(SLITHER_VENV)/bin/slither . --config-file slither.config.json

# A fixed sample of the mutants (CI, 1.5-2.5 min); contract-mutation-full runs all of them (5-7 min).
contract-mutation: setup
	$(CHECK_FORGE)
	$(BIN)/python tools/mutate_registry.py --sample 60

contract-mutation-full: setup
	$(CHECK_FORGE)
	$(BIN)/python tools/mutate_registry.py

# ---- the operators' frameworks (README "ape" and "brownie"): both compile offline through .solcx.
BROWNIE_VENV := .venv-brownie
BROWNIE_HOME := $(CURDIR)/$(BROWNIE_VENV)/home
ANVIL = $(firstword $(wildcard $(CURDIR)/node_modules/@foundry-rs/anvil-*/bin/anvil))

.PHONY: ape-test brownie

# ape's own tests of the registry (tests/ape: ape's accounts, project and chain fixtures, ape's local network).
ape-test: setup
	$(BIN)/ape test tests/ape -W error::ape.pytest.warnings.InvalidIsolationWarning

# Its own virtualenv (its pins conflict with ours), anchor installed beside it, and its own home: brownie keeps
# its networks and keystore in $$HOME/.brownie; `make brownie` installs brownie/network-config.yaml there.
$(BROWNIE_VENV)/.installed: brownie/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(BROWNIE_VENV)
	$(BROWNIE_VENV)/bin/pip install --quiet --upgrade pip
	$(BROWNIE_VENV)/bin/pip install --quiet -r brownie/requirements.txt -e .
	touch $@

$(BROWNIE_HOME)/.brownie/network-config.yaml: brownie/network-config.yaml
	mkdir -p $(dir $@)
	cp $< $@

# `brownie compile` (the committed artifact's bytes), `brownie test` on an anvil it starts, then the brownie
# scripts against a local anvil node (brownie/check.py). By hand: HOME=$(BROWNIE_HOME) .venv-brownie/bin/brownie ...
brownie: setup $(BROWNIE_VENV)/.installed $(BROWNIE_HOME)/.brownie/network-config.yaml
	@test -x "$(ANVIL)" || { echo "no native anvil under node_modules/@foundry-rs/: run npm ci" >&2; exit 1; }
	ANCHOR_ANVIL="$(ANVIL)" $(BROWNIE_VENV)/bin/python brownie/check.py

clean:
	rm -rf $(VENV) $(SLITHER_VENV) $(BROWNIE_VENV) node_modules $(SOLCX_DIR) .build .pytest_cache .mypy_cache .ruff_cache
