# Two commands for a newcomer: `make demo` and `make test` (README.md). Both set up first;
# set-up runs again only when pyproject.toml or scripts/setup.sh change.
PY := .venv/bin/python
STAMP := .venv/.setup-done
DEMO_ENV := --env-file config/demo.env

.PHONY: setup demo lint test test-pg portals console schedule bench chaos clean

setup: $(STAMP)
	@$(PY) -m bots.browser which >/dev/null 2>&1 || bash scripts/setup.sh

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	@touch $(STAMP)

demo: setup
	$(PY) -m bots $(DEMO_ENV) demo

# ruff (rules in pyproject.toml), then mypy --strict on the pure decide modules (the `files` in pyproject.toml)
lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

# lint first; then two workers (the machine has two cores); a test file stays on one worker
test: lint
	$(PY) -m pytest -n 2 --dist loadfile --durations=25

# every test on PostgreSQL (a throwaway cluster per worker, tests/postgres.py): the store tests, and
# every bot run's DATABASE_URL; `make test` runs the store tests and three e2e races on both
test-pg: setup
	BOTS_TEST_DATABASE=postgresql $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

portals: setup
	$(PY) -m bots $(DEMO_ENV) portals --seed fixtures/world --port 8765

# the demo world, the bots once, and the web console with one demo person per role (URL and logins printed)
console: setup
	$(PY) -m bots $(DEMO_ENV) console --demo --port $(or $(CONSOLE_PORT),8000)

schedule: setup
	$(PY) -m bots schedule

bench: setup
	@if ls bench/bench_*.py >/dev/null 2>&1; then $(PY) -m bench; else echo "no benchmarks yet"; fi

# fault scenarios and kill -9 across the three bots (about half an hour on a quiet 2-core machine); CHAOS_ARGS=--readme
# also writes the table into README.md ("Reliability")
chaos: setup
	$(PY) -m chaos $(CHAOS_ARGS)

# the cluster proof (README "Running on several machines"): three workers in network namespaces on one
# PostgreSQL, 50 kill -9 and 10 cut-offs, PostgreSQL restarted; prints the invariants table (about half an
# hour; needs root). `make test` runs its short form (tests/test_cluster.py); CLUSTER_ARGS=--short: that form.
.PHONY: cluster-test
cluster-test: setup
	$(PY) -m cluster $(CLUSTER_ARGS)

clean:
	rm -rf .venv var logs reports/artifacts .pytest_cache .ruff_cache .mypy_cache
