# Two commands do all set-up on a fresh machine:
#   make demo   — install into .venv and run the demo park end to end (embedded SQLite store)
#   make test   — install into .venv (with dev tools) and run the test suite (T1 + reduced T2)
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test install install-dev lint reliability bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'

demo: install
	$(BIN)/parkcarbon demo --out demo-output

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install-dev lint
	$(BIN)/python -m pytest -m "not t3" -q -p no:cacheprovider

reliability: install-dev
	$(BIN)/python -m pytest -m "t3" -q

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-output
