# Two entry points for a fresh machine:
#   make demo   a local JupyterHub with the launcher registered, and the launcher itself
#   make test   the whole test suite (installs everything it needs first)
# Both create OS accounts and so run as root: run by anyone else, they run again through
# sudo. For development:
#   make test-fast  the tests that need no hub, no PAM and no root, run without root
#   make lint       ruff check and ruff format --check (needs only the Python venv)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
IS_ROOT := $(filter 0,$(shell id -u))
# What the tests read from the environment, carried through sudo (which drops it).
PASSED_ON := $(strip $(foreach v,PYTHON CI LAUNCHER_REQUIRE_BROWSER,\
	$(if $(filter environment command,$(firstword $(origin $(v)))),$(v)=$($(v)))))

.PHONY: setup kernel hubs demo test test-fast lint clean

setup: $(VENV)/.installed node_modules/.installed

# The environment in which the generated notebooks are executed by the tests.
kernel:
	bash scripts/kernel-env.sh

# The JupyterHub 5.5 that the tests run besides the 6.x of $(VENV), from a venv of its own.
hubs:
	bash scripts/hub-venv.sh

$(VENV)/.installed: requirements_dev.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements_dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

ifeq ($(IS_ROOT),0)
demo: setup
	$(BIN)/python scripts/demo.py

test: setup kernel hubs
	LAUNCHER_REQUIRE_KERNEL=1 $(BIN)/python -m pytest
else
demo test:
	@command -v sudo >/dev/null || { \
	    echo "make $@ creates OS accounts and so needs root, and sudo is not installed:" \
	         "run make $@ as root" >&2; \
	    exit 1; }
	sudo $(MAKE) $@ $(PASSED_ON)
endif

# Every test that uses no fixture marked needs_root (tests/privileges.py), without root:
# as root, as the user nobody, on two processes (the leak scan is the full suite's). The
# notebook-execution tests need .venv-kernel: `make test`.
test-fast: $(VENV)/.installed
	scripts/unprivileged.sh $(BIN)/python -m pytest -q -n 2 -m "not needs_root" --ignore=tests/kernel

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .venv-kernel .venv-hub5 node_modules .pytest_cache .hypothesis
