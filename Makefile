# Two commands: `make run` (the demo) and `make test` (the whole suite). Both install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes: one a core on these 2-core machines; each test file runs whole in one process. The
# browser tests run afterwards on their own: they measure time on the page, and a busy core skews it.
PYTEST_WORKERS ?= 2
export FLASK_APP := app

.PHONY: run test lint typecheck pytest system-packages clean-instance

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $(STAMP)

system-packages:
	@scripts/install-system-packages

run: system-packages $(STAMP)
	@scripts/run-demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	@if [ -d scoring ]; then $(BIN)/mypy --strict scoring; fi

pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --ignore=tests/browser
	$(BIN)/pytest tests/browser

test: system-packages lint typecheck pytest
