# The two commands: `make run` (the demo shop) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
HOST ?= 127.0.0.1
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run test lint setup serve worker clean

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

run: setup
	@echo "Shop: http://$(HOST):$(PORT)/   admin: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/api/docs/"
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
