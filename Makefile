# The two commands: `make run` (the demo shop) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
HOST ?= 127.0.0.1
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test lint setup serve worker clean qr-library

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable
	$(MANAGE) seed_demo
	$(MANAGE) reconcile_payments --schedule
	@$(MAKE) --no-print-directory qr-library

# The scanner page's QR reader for browsers without BarcodeDetector: fetched
# from the npm registry into the git-ignored vendor/ when npm is present.
# Without it /scan/ still takes typed ids, hand-held scanners and the
# browser's own BarcodeDetector, and says so.
QR_LIBRARY := vendor/node_modules/barcode-detector/dist/iife/ponyfill.js
qr-library:
	@if [ -f $(QR_LIBRARY) ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
	  npm install --prefix vendor --no-save --no-package-lock --no-audit \
	    --no-fund --loglevel=error barcode-detector@3.2.2 \
	  || echo "npm could not fetch the QR library; /scan/ works without it."; \
	else echo "npm not found: /scan/ works without its QR library."; fi

run: setup
	@echo "Shop: http://$(HOST):$(PORT)/   admin: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/api/docs/"
	$(MANAGE) requeue_ticket_deliveries
	$(MANAGE) requeue_backoffice_mail
	$(MANAGE) db_worker --queue-name '*' & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn ticketshop.wsgi --bind $(HOST):$(PORT) --workers 2 --threads 4 \
	  --access-logfile - --graceful-timeout 5

test: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf var/db.sqlite3* var/test-*.sqlite3*
