# The two commands of the README: `make explore` and `make test`.
# Both create .venv on first use; torch comes from the pinned CPU wheel (constraints-cpu.txt).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
PIN := -c constraints-cpu.txt
PYTEST_ARGS ?=
EXPLORE_ARGS ?=

.PHONY: install install-dev explore test test-extended lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints-cpu.txt | $(BIN)/python
	$(PIP) install -q $(PIN) torch
	$(PIP) install -q $(PIN) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints-cpu.txt | $(BIN)/python
	$(PIP) install -q $(PIN) torch
	$(PIP) install -q $(PIN) -e '.[dev,ray,postgres,dashboard]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## The main job: a network within 5% of 100M MACs on the built-in synthetic NEU-like data.
explore: install
	$(BIN)/gensynth explore --flops 100M $(EXPLORE_ARGS)

## Install what the tests need and run the default (fast) test set.
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Tests behind markers: slow, integration, postgres, ray, browser (CI runs these too).
test-extended: install-dev
	$(BIN)/python -m pytest -m 'slow or integration or postgres or ray or browser' $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy gensynth prototypes constraints studies explain cli

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
