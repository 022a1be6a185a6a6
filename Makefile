# Two commands do all set-up on a fresh machine:
#   make demo   — install into .venv and run the demo park end to end (embedded SQLite store)
#   make test   — install into .venv (with dev tools) and run the test suite (T1 + reduced T2)
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test install install-dev install-bench lint reliability bench clean web-assets browser-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,bench]'

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'

demo: install web-assets
	$(BIN)/parkcarbon demo --out demo-output

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install-dev web-assets browser-deps lint
	$(BIN)/python -m pytest -m "not t3" -q -p no:cacheprovider

reliability: install-dev
	$(BIN)/python -m pytest -m "t3" -q

bench: install-bench
	command -v wrk >/dev/null || apt-get install -y wrk || echo "wrk not installed: the API benchmark will skip"
	$(BIN)/python -m bench

# Apache ECharts from the npm registry (lock file pinned), copied into the package: no CDN, works offline.
ECHARTS = src/parkcarbon/web/static/vendor/echarts.min.js
web-assets: $(ECHARTS)

$(ECHARTS): frontend/package.json frontend/package-lock.json
	npm ci --prefix frontend --no-audit --no-fund --loglevel=error
	mkdir -p $(@D)
	cp frontend/node_modules/echarts/dist/echarts.min.js $@

# Browser tests and PDF reports: Debian's chromium (driven by Playwright from the dev extra, never
# `playwright install`), poppler-utils (pdftoppm/pdftotext) and CJK fonts; skipped when present.
browser-deps:
	@if command -v chromium >/dev/null && command -v pdftoppm >/dev/null && fc-list 2>/dev/null | grep -qi "noto sans cjk"; \
	then :; else \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium poppler-utils fonts-noto-cjk; fi

clean:
	rm -rf $(VENV) demo-output
