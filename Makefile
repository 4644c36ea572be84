# FinLab portal. `make run` starts everything with demo data; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The partition bed creates network namespaces: as root, or through sudo.
AS_ROOT := $(shell [ "$$(id -u)" = 0 ] || echo sudo --preserve-env)

.PHONY: setup run test lint audit format bench load stations faults partitions partitions-short totp clean messages

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
	$(BIN)/lint-imports
	$(BIN)/mypy
	DJANGO_SETTINGS_MODULE=portal.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

# Known vulnerabilities of every pinned package (requirements/lock.txt), from PyPI's vulnerability data. --strict turns a
# package the service cannot answer for into an error, so an unreachable service fails the audit instead of passing it
# unaudited. Accepted findings, each with its reason: requirements/audit-ignore.txt.
audit: setup
	$(BIN)/pip-audit --strict --progress-spinner off --no-deps --disable-pip -r requirements/lock.txt \
		$$(sed -n 's/^\(--ignore-vuln [^ #]*\).*/\1/p' requirements/audit-ignore.txt) \
		|| { echo "make audit failed: a vulnerability is listed above, or PyPI's vulnerability data could not be reached" \
			"(a package that could not be audited is an error, never a pass)." >&2; exit 1; }

# Extracts every translatable string into the German catalogue and compiles it (needs Debian's gettext). Translate the
# new entries in locale/de/LC_MESSAGES/django.po, then run it again; both .po and .mo are committed.
messages: setup
	scripts/test-prerequisites
	$(BIN)/python manage.py makemessages -l de --no-obsolete --no-wrap $(MESSAGES_IGNORE)
	msgfmt --check -o locale/de/LC_MESSAGES/django.mo locale/de/LC_MESSAGES/django.po

MESSAGES_IGNORE := --ignore=.venv/* --ignore=var/* --ignore=*/tests/* --ignore=bench/* --ignore=node_modules/*

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/pip install --quiet -r requirements/bench.txt -c requirements/lock.txt
	scripts/bench-prerequisites
	$(BIN)/python -m bench

# The mixed-user load alone (its section of docs/benchmarks.md is replaced; the other sections are kept).
load: setup
	$(BIN)/pip install --quiet -r requirements/bench.txt -c requirements/lock.txt
	scripts/test-prerequisites
	$(BIN)/python -m bench --only bench.load

# The OCPP fleet alone: 5,000 stations (BENCH_STATIONS) for 10 minutes (BENCH_STATIONS_SECONDS) after a restart storm,
# against the server with the settings it had before in the same run (its section of docs/benchmarks.md is replaced).
stations: setup
	$(BIN)/pip install --quiet -r requirements/bench.txt -c requirements/lock.txt
	scripts/test-prerequisites
	BENCH_STATIONS_BASELINE=1 $(BIN)/python -m bench --only bench.stations

# The load with faults injected (worker killed, Redis restarted, Tangle node stopped, web server killed); the report
# goes into docs/reliability.md. Restarts the machine's Redis: never run it beside a test run.
faults: setup
	scripts/test-prerequisites
	$(BIN)/python -m bench.load --seconds 180 --faults --report docs/reliability.md

# The portal on several hosts (each role in its own network namespace on a private bridge: HAProxy, two web hosts, two
# worker hosts, beat, PostgreSQL, Redis, the Tangle node) under the load, with network faults cut and delayed by
# iptables (and an NFQUEUE delayer) inside the namespaces; everything is removed afterwards, also when interrupted.
# Needs root and about ten minutes, so it is not part of `make test`. The report replaces its section of
# docs/reliability.md.
partitions: setup
	$(AS_ROOT) scripts/partitions-prerequisites
	$(AS_ROOT) $(BIN)/python -m bench.partitions --report docs/reliability.md
	$(AS_ROOT) $(BIN)/python -m bench.partitions --verify-clean

# CI's version: one fault (a web host cut off) in 60 s of load, the same reconciliation; then a run interrupted on
# purpose in the middle of its load, and a check that neither left a namespace, bridge or process behind.
partitions-short: setup
	$(AS_ROOT) scripts/partitions-prerequisites
	$(AS_ROOT) $(BIN)/python -m bench.partitions --short
	mkdir -p var
	$(AS_ROOT) timeout --signal INT 55 $(BIN)/python -m bench.partitions --short >var/partitions-interrupted.log 2>&1; \
		test $$? -ne 0 || { echo "the run meant to be interrupted finished first" >&2; exit 1; }
	$(AS_ROOT) $(BIN)/python -m bench.partitions --verify-clean

clean:
	rm -rf $(VENV) var
