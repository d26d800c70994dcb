# Two commands for a newcomer: `make demo` and `make test` (README.md). Both set up first;
# set-up runs again only when pyproject.toml or scripts/setup.sh change.
PY := .venv/bin/python
STAMP := .venv/.setup-done
DEMO_ENV := --env-file config/demo.env

.PHONY: setup demo lint test portals schedule bench chaos clean

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
	$(PY) -m pytest -n 2 --dist loadfile

portals: setup
	$(PY) -m bots $(DEMO_ENV) portals --seed fixtures/world --port 8765

schedule: setup
	$(PY) -m bots schedule

bench: setup
	@if ls bench/bench_*.py >/dev/null 2>&1; then $(PY) -m bench; else echo "no benchmarks yet"; fi

# fault scenarios and kill -9 across the three bots (about half an hour on a quiet 2-core machine); CHAOS_ARGS=--readme
# also writes the table into README.md ("Reliability")
chaos: setup
	$(PY) -m chaos $(CHAOS_ARGS)

clean:
	rm -rf .venv var logs reports/artifacts .pytest_cache .ruff_cache .mypy_cache
