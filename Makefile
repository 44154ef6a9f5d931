# Everything a fresh clone needs: `make run` for the live demo, `make test` for the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# What is installed comes from the locks in requirements/ (pinned, with hashes; `make lock`):
# the runtime set for `make run`, everything the tests need for `make test`.
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed-dev
LOCK_FLAGS = --generate-hashes --universal --python-version 3.11 -q $(if $(UPGRADE),--upgrade)
HOST ?= 127.0.0.1
PORT ?= 8000
RATE ?= 5
# How busy the demo hospital is (2: twice its usual day), and the local hour it shows (AT=03:00).
PACE ?= 1
AT ?=
# pytest-xdist processes for `make test` (each test starts its own servers, ports and databases).
TEST_WORKERS ?= 2
# The PostgreSQL server of the test suite's second pass (empty: no such pass). pytest-django
# creates test_<name> on it and drops it afterwards; the name comes from this checkout's path,
# so two checkouts on one machine never share a test database.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/dashboard_$(shell printf %s "$(CURDIR)" | cksum | cut -d" " -f1)

.PHONY: install install-runtime browser sentinel typescript run test lint bench dist lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml requirements/runtime.lock Makefile | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements/runtime.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml requirements/dev.lock Makefile | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements/dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP) $(RUNTIME_STAMP)

# The runtime set only (`make run`): no test or benchmark tools.
install-runtime: $(RUNTIME_STAMP)

# Everything the tests, the linters and the benchmarks need.
install: $(STAMP)

# The wheel a hospital installs (dist/), templates, static files and migrations included.
dist: $(RUNTIME_STAMP)
	rm -rf dist build
	$(BIN)/pip wheel -q --no-deps -w dist .
	rm -rf build

# Refresh the locks from pyproject.toml (UPGRADE=1: newest versions allowed, else the pins
# stay where they can). runtime: [project.dependencies]; runtime-postgres: the image's set;
# dev: every extra. The last two are resolved within the first, so they agree on every pin.
lock: | $(BIN)/python
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements/runtime.lock
	$(BIN)/uv pip compile pyproject.toml --extra postgres $(LOCK_FLAGS) \
	  -c requirements/runtime.lock -o requirements/runtime-postgres.lock
	$(BIN)/uv pip compile pyproject.toml --all-extras $(LOCK_FLAGS) \
	  -c requirements/runtime.lock -o requirements/dev.lock

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# What the tests need from npm, in .venv/node: the TypeScript compiler, which checks the types the
# API and the JavaScript client publish, and `ws`, the WebSocket the client's Node tests run on;
# apt's nodejs if node is missing. One install for both (npm drops what a later one leaves out).
NODE_PACKAGES := typescript@5.6.3 ws@8.18.3
NODE_STAMP := $(VENV)/node/.installed
typescript: $(NODE_STAMP)

$(NODE_STAMP): Makefile | $(BIN)/python
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's nodejs and npm for the TypeScript check and the client's tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm install --prefix $(VENV)/node --no-save --no-audit --no-fund --loglevel=error $(NODE_PACKAGES)
	touch $(NODE_STAMP)

# Debian's Redis Sentinel for the failover tests (they start their own Redis servers and sentinels).
sentinel:
	@command -v redis-sentinel >/dev/null 2>&1 || { \
	  echo "installing Debian's redis-sentinel for the failover tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-sentinel >/dev/null; }

# The listener runs in the server whether or not REDIS_URL is set, so the demo is live either way.
# The seed and the server share one time zone, chosen once (dashboard_project/time_zone.py).
run: export DASHBOARD_DEMO_AT = $(AT)
run: install-runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py create_demo_users
	zone="$$($(BIN)/python -m dashboard_project.time_zone)" && export TIME_ZONE="$$zone" && \
	$(BIN)/python manage.py seed_demo --if-empty && \
	exec $(BIN)/python manage.py serve --host $(HOST) --port $(PORT) --simulate $(RATE) --pace $(PACE) --listener on

# Two passes: the whole suite on SQLite, then the tests that touch Django's database again on
# PostgreSQL (docs/testing.md).
test: install browser sentinel typescript lint
	DATABASE_URL= $(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not postgres and not alone"
	DATABASE_URL= $(BIN)/python -m pytest -m "alone and not postgres"
ifneq ($(strip $(TEST_POSTGRES_URL)),)
	DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/python -m pytest -n $(TEST_WORKERS) -m "(database or postgres) and not incidental_database"
else
	@echo "TEST_POSTGRES_URL is empty: the PostgreSQL pass is left out"
endif

# Style and types: ruff (lint and format) and mypy (django-stubs, djangorestframework-stubs).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf var dist build .pytest_cache .hypothesis
