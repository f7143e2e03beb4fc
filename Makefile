# The two commands: `make run` (set up + run the app) and `make test` (set up + run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-moved-clock setup setup-dev services lint bench-solver bench-realtime clean

run: setup
	$(BIN)/python app.py

# Every test: the non-browser ones in one run, then each browser test file in its own bounded
# process (scripts/browser-tests.sh says why).
test: setup-dev services
	$(BIN)/python -m pytest -m "not browser"
	scripts/browser-tests.sh

# The suite must not depend on the day it runs: the non-browser tests again with the wall clock
# of every Python process a year ahead, on a Saturday, at 23:30 in the demo city (05:30 UTC
# the next day). See tests/moved_clock/sitecustomize.py (libfaketime hangs CPython's waits).
MOVED_CLOCK ?= 2027-12-04T23:30:00-06:00
test-moved-clock: setup-dev services
	TZ=America/Chicago FLEET_MOVED_CLOCK=$(MOVED_CLOCK) PYTHONPATH=tests/moved_clock \
		$(BIN)/python -m pytest -m "not browser" -p no:cacheprovider

setup:
	@PYTHON=$(PYTHON) scripts/setup-venv.sh

setup-dev:
	@PYTHON=$(PYTHON) scripts/setup-venv.sh dev

services:
	@scripts/test-services.sh

lint: setup-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy .

bench-solver: setup-dev
	$(BIN)/python bench/solver.py --instances ../shared/bench/vrptw --engines auto,ortools,pyvrp,vroom --time-limits 1,5,30
	$(BIN)/python bench/solver.py --large --large-limit 55
	$(BIN)/python bench/solver.py --insert-trials 50

bench-realtime: setup-dev services
	$(BIN)/python bench/realtime.py --drivers 3000 --dashboards 5 --rate 1 --duration 30
	$(BIN)/python bench/realtime.py --drivers 5000 --dashboards 5 --rate 1 --duration 30 --workers 2 --redis

clean:
	rm -rf $(VENV) var
