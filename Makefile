# Only python3 (3.11+) is assumed on the machine: the first target that needs the virtual
# environment creates it from the lock file (hashes checked), then installs domchat itself.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements/dev-lock.txt pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_WORKERS ?= auto

.PHONY: demo test lint lock bench clean

$(STAMP): requirements/dev-lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev-lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/domchat demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Regenerate the lock files after changing dependencies in pyproject.toml.
lock:
	$(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet pip-tools
	.venv-lock/bin/python -m piptools compile -q --generate-hashes --allow-unsafe --strip-extras -o requirements/lock.txt pyproject.toml
	.venv-lock/bin/python -m piptools compile -q --generate-hashes --allow-unsafe --strip-extras --extra dev -o requirements/dev-lock.txt pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
