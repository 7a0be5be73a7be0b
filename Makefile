# The README's two commands: `make lab` and `make test`. Everything else serves them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
JLPM := $(VENV)/bin/jlpm
PORT ?= 8888
HOST ?= 127.0.0.1
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
TS_SOURCES := $(shell find labextension/src labextension/schema labextension/style style -type f 2>/dev/null) package.json tsconfig.json docs/openapi.json
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# jlpm, jupyter-builder and jupyter come from the venv (the lab extension's scripts call them).
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: lab test install build lint unit pytest ui-test bench clean

## make lab: the venv, the package with its built lab extension, and JupyterLab on demo/
lab: install
	$(VENV)/bin/jupyter lab --ip=$(HOST) --port=$(PORT) --no-browser $(ROOT_FLAG) \
		--ServerApp.root_dir=$(CURDIR)/demo

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# `pip install -e .` builds the lab extension (jlpm install + build, through the hatch hook);
# `develop` links it into the venv so that JupyterLab loads the build in the work tree.
$(VENV)/.installed: $(VENV)/bin/python pyproject.toml package.json
	$(PIP) install -e .
	$(VENV)/bin/jupyter-builder develop --overwrite .
	$(VENV)/bin/jupyter server extension enable --sys-prefix jupyter_mllab
	touch $@

install: $(VENV)/.installed build

# Rebuild the lab extension when its sources change (the editable install builds once).
jupyter_mllab/labextension/package.json: $(TS_SOURCES) | $(VENV)/.installed
	$(JLPM) build
	touch $@

build: jupyter_mllab/labextension/package.json

## make test: test dependencies, linters, pytest, browser tests
$(VENV)/.test-deps: $(VENV)/.installed pyproject.toml
	$(PIP) install -e '.[test]'
	$(PY) -m bash_kernel.install --sys-prefix  # a second kernel for the papermill tests
	touch $@

/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Debian's PostgreSQL (15 on bookworm) for the shared-tracking test, tests/test_scale_postgres.py
/usr/lib/postgresql:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql

tests/ui/node_modules/.installed: tests/ui/package.json tests/ui/package-lock.json
	cd tests/ui && npm ci --no-audit --no-fund
	touch $@

lint: $(VENV)/.test-deps
	$(VENV)/bin/ruff check jupyter_mllab tests bench
	$(VENV)/bin/ruff format --check jupyter_mllab tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m jupyter_mllab.openapi --check
	$(PY) -m jupyter_mllab.docgen --check
	$(PY) -m jupyter_mllab.templates --check demo
	$(JLPM) lint:check

# Unit tests of the lab extension's pure TypeScript (vitest; node_modules come with the
# editable install's `jlpm install`).
unit: $(VENV)/.installed
	$(JLPM) test:unit

# Two workers, each taking whole files (module-scoped servers and stores stay shared);
# each worker reaps only the processes it started (tests/conftest.py).
pytest: $(VENV)/.test-deps /usr/lib/postgresql
	$(PY) -m pytest -n 2 --dist loadfile

# The lab's children (TensorBoard, runs workers, kernels, tracking set-up) must die with
# the browser tests' server: whatever of that server's run is left after them is killed,
# listed, and fails the target (found by the MLLAB_TEST_SESSION mark they inherit).
ui-test: build /usr/bin/chromium tests/ui/node_modules/.installed
	export MLLAB_TEST_SESSION=ui-$$$$-$$(date +%s); status=0; \
	(cd tests/ui && npx playwright test) || status=$$?; \
	$(PY) tests/leftovers.py "$$MLLAB_TEST_SESSION" || status=1; \
	exit $$status

test: $(VENV)/.test-deps build /usr/bin/chromium tests/ui/node_modules/.installed
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) pytest
	$(MAKE) ui-test

bench: $(VENV)/.test-deps
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules tests/ui/node_modules labextension/lib jupyter_mllab/labextension \
		tests/ui/test-results test-output
