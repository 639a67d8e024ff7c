# The two commands: `make run` (the demo shop) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
HOST ?= 127.0.0.1
# The Swish simulator's own server (make run, SWISH_ENVIRONMENT=simulator).
SIM_PORT ?= 8001
# The shop's own gunicorn, on loopback behind Caddy (which listens on PORT).
APP_PORT ?= 8002
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test lint lock setup serve worker clean qr-library

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependencies change. Exact versions with hashes
# from the lock (runtime + test tools); the shop itself is installed without
# dependencies, so nothing unlocked slips in.
$(VENV)/.installed: pyproject.toml requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Refresh the locks after changing dependencies in pyproject.toml: keeps the
# pinned versions that still fit, adds what is new. `make lock UPGRADE=1`
# moves everything to the newest allowed versions.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --quiet $(if $(UPGRADE),--upgrade)
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra test -c requirements.lock -o requirements-dev.lock

setup: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable
	$(MANAGE) seed_demo
	@$(MAKE) --no-print-directory qr-library

# The scanner page's QR reader for browsers without BarcodeDetector, and
# axe-core, which the browser tests run on every page: fetched from the npm
# registry into the git-ignored vendor/ when npm is present. Without the
# QR library /scan/ still takes typed ids, hand-held scanners and the
# browser's own BarcodeDetector, and says so; without axe-core the
# accessibility tests skip.
QR_LIBRARY := vendor/node_modules/barcode-detector/dist/iife/ponyfill.js
AXE_CORE := vendor/node_modules/axe-core/axe.min.js
qr-library:
	@if [ -f $(QR_LIBRARY) ] && [ -f $(AXE_CORE) ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
	  npm install --prefix vendor --no-save --no-package-lock --no-audit \
	    --no-fund --loglevel=error barcode-detector@3.2.2 axe-core@4.11.0 \
	  || echo "npm could not fetch the QR library; /scan/ works without it."; \
	else echo "npm not found: /scan/ works without its QR library."; fi

run: setup
	@echo "Shop: http://$(HOST):$(PORT)/   admin: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/api/docs/"
	$(MANAGE) requeue_ticket_deliveries
	$(MANAGE) requeue_backoffice_mail
	@# Caddy on HOST:PORT in front of the shop's gunicorn on
	@# 127.0.0.1:APP_PORT, the Swish simulator on SIM_PORT, the worker:
	@# see deploy/run-local.sh and docs/operations.md.
	BIN=$(BIN) HOST=$(HOST) PORT=$(PORT) APP_PORT=$(APP_PORT) SIM_PORT=$(SIM_PORT) \
	  deploy/run-local.sh

test: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf var/db.sqlite3* var/test-*.sqlite3*
