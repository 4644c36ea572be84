# FinLab portal. `make run` starts everything with demo data; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: setup run test lint format bench totp clean

$(INSTALLED): requirements/base.txt requirements/dev.txt requirements/lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt -c requirements/lock.txt
	touch $(INSTALLED)

setup: $(INSTALLED)

run: setup
	$(BIN)/python manage.py portal_run

totp: setup
	$(BIN)/python manage.py demo_totp

test: setup
	scripts/test-prerequisites
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=portal.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/pip install --quiet -r requirements/bench.txt -c requirements/lock.txt
	scripts/test-prerequisites
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
