# The two commands a user needs: `make run` and `make test`. Both build .venv from nothing
# when it is missing or older than pyproject.toml, so a fresh machine needs only Python 3.11+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run sim test lint unit bench bench-report soak coverage mutation chaos clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cryptoj needs Python 3.11 or newer; found " + sys.version.split()[0] + " at " + sys.executable + " (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cryptoj $(ARGS)

sim: $(STAMP)
	$(BIN)/cryptoj sim $(ARGS)

# Lint: ruff (rules, import order, formatting), mypy (strict on the engine and the key files),
# and the import contracts that keep the engine headless.
LINTED := cryptoj_tui tests benchmarks tools
lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/lint-imports

# Coverage records which test ran each line (--cov-context=test), so one run gives the gates
# for each component and for the integration tests alone (tools/coverage_gates.py).
PYTEST_COV := $(BIN)/python -m pytest -n 2 --cov --cov-context=test --cov-report=term --cov-fail-under=85

test: lint
	$(PYTEST_COV) $(PYTEST_ARGS)
	$(BIN)/python tools/coverage_gates.py --check-report docs/coverage.md
	@echo "benchmarks, smoke run (each once, small, untimed; \`make bench\` measures them):"
	CRYPTOJ_BENCH_SMOKE=1 SOAK_SECONDS=2 $(BIN)/python -m pytest benchmarks -q -p no:xdist --benchmark-disable $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: $(STAMP)
	@mkdir -p .benchmarks
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,peers]' \
		|| echo "cryptoj bench: the peers extra (cryptofeed) did not install - it builds C extensions; its comparison is left out of this run"
	$(BIN)/python -m pytest benchmarks -p no:xdist --benchmark-only --benchmark-columns=min,median,max,rounds --benchmark-save-data --benchmark-json=.benchmarks/latest.json $(PYTEST_ARGS)

# The report is written even when a target was missed (it says which); the exit status is bench's.
bench-report: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(MAKE) bench; status=$$?; $(BIN)/python tools/bench_report.py .benchmarks/latest.json docs/performance.md; exit $$status

coverage: lint
	@start=$$(date +%s); $(PYTEST_COV) -q $(PYTEST_ARGS); \
	$(BIN)/python tools/coverage_gates.py --write docs/coverage.md --seconds $$(( $$(date +%s) - start ))

mutation: $(STAMP)
	$(BIN)/python tools/mutation_check.py --write docs/coverage.md

# Chaos: CHAOS_SECONDS (default 600) of seeded faults and trading on each of CHAOS_SEED (default
# 1,2,3); docs/reliability.md is written only when every run passes.
chaos: $(STAMP)
	$(BIN)/python -m tools.chaos --seconds $${CHAOS_SECONDS:-600} --seeds $${CHAOS_SEED:-1,2,3} --write docs/reliability.md

soak: $(STAMP)
	SOAK_SECONDS=600 $(BIN)/python -m pytest benchmarks/test_soak.py -p no:xdist --benchmark-only -s $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .coverage .coverage.* htmlcov .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
