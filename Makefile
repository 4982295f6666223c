# `make demo` and `make test` (and `make unit`, the fast tests, and `make docs`, the site): each creates
# .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DOCS_STAMP := $(VENV)/.installed-docs
PYTEST_ARGS ?=

.PHONY: demo demo-script test unit docs lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(DOCS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

# The site into docs/_build/html, warnings as errors (docs/README.md says how it is built).
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -b html -W --keep-going -q docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

demo: $(STAMP)
	$(BIN)/python -m comet_widgets.cli._demo

demo-script: $(STAMP)
	$(BIN)/python -m comet_widgets.cli._demo --script

lint: $(STAMP)
	$(BIN)/ruff check comet_widgets tests bench notebooks
	$(BIN)/ruff format --check comet_widgets tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast tests: no browser, notebook, bench, load, slow or docs test (make test runs those too).
# On every core (pytest-xdist): under a minute on this 2-core machine (47-58 s on 2026-12-07).
unit: $(STAMP)
	$(BIN)/python -m pytest -n auto -m 'not browser and not notebook and not bench and not load and not slow and not docs' $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache docs/_build docs/tutorials
