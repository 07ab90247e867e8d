# Two entry points for a fresh machine:
#   make demo   a local JupyterHub with the launcher registered, and the launcher itself
#   make test   the whole test suite (installs everything it needs first)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup kernel demo test lint clean

setup: $(VENV)/.installed node_modules/.installed

# The environment in which the generated notebooks are executed by the tests.
kernel:
	bash scripts/kernel-env.sh

$(VENV)/.installed: requirements_dev.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements_dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/python scripts/demo.py

test: setup kernel
	LAUNCHER_REQUIRE_KERNEL=1 $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .venv-kernel node_modules .pytest_cache .hypothesis
