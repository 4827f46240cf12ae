# Two commands: `make run` (the whole stack in one process) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/delivery)

.PHONY: run test test-kafka lint typecheck bench reliability clean

$(VENV)/.installed-run: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo > /dev/null
	$(PY) manage.py devserver

test: $(VENV)/.installed-dev
	@mkdir -p var
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/mypy .

# The events, consumers and reliability tests against Tansu, a second Kafka-protocol broker (dev extra):
# started on a free loopback port, stopped afterwards whatever the outcome. Its group joins take about half
# of session.timeout.ms, hence 6 s here.
test-kafka: $(VENV)/.installed-dev
	@mkdir -p var
	DATABASE_URL=$(TEST_DATABASE_URL) KAFKA_CONSUMER_SESSION_TIMEOUT_MS=6000 \
		$(PY) -m tests.tansu $(PY) -m pytest tests/events tests/consumers tests/reliability

# The performance benchmark on its own database (BENCH_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/delivery_bench, dropped and created at every run): the production
# shape under locust, old and new path side by side. QUICK=1: small samples, under three minutes.
# Prints a table and writes var/bench/ (results.json, report.md, percentiles.png).
bench: $(VENV)/.installed-dev
	@mkdir -p var/bench
	QUICK=$(QUICK) $(PY) -m bench.run

# The fault drills and fuzzers at full size: prints the table, writes var/reliability/results.json,
# fails when any drill lost or duplicated anything. `make test` runs the short variant of each.
reliability: $(VENV)/.installed-dev
	@mkdir -p var/reliability
	@rm -f var/reliability/rows.jsonl
	DATABASE_URL=$(TEST_DATABASE_URL) RELIABILITY_FULL=1 RELIABILITY_REPORT=var/reliability/rows.jsonl \
		$(PY) -m pytest tests/reliability -q; \
		status=$$?; touch var/reliability/rows.jsonl; \
		$(PY) -m tests.reliability.report var/reliability/rows.jsonl $$status

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
