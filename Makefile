# The two commands a user needs: `make run` and `make test`. Both build .venv from nothing
# when it is missing or older than pyproject.toml, so a fresh machine needs only Python 3.11+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run sim test lint unit bench soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cryptoj needs Python 3.11 or newer; found " + sys.version.split()[0] + " at " + sys.executable + " (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cryptoj $(ARGS)

sim: $(STAMP)
	$(BIN)/cryptoj sim $(ARGS)

lint: $(STAMP)
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -n 2 --cov --cov-report=term --cov-fail-under=85 $(PYTEST_ARGS)
	@echo "benchmarks, smoke run (each once, small, untimed; \`make bench\` measures them):"
	CRYPTOJ_BENCH_SMOKE=1 SOAK_SECONDS=2 $(BIN)/python -m pytest benchmarks -q -p no:xdist --benchmark-disable $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: $(STAMP)
	@mkdir -p .benchmarks
	$(BIN)/python -m pytest benchmarks -p no:xdist --benchmark-only --benchmark-columns=min,median,max,rounds --benchmark-json=.benchmarks/latest.json $(PYTEST_ARGS)

soak: $(STAMP)
	SOAK_SECONDS=600 $(BIN)/python -m pytest benchmarks/test_soak.py -p no:xdist --benchmark-only -s $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks .coverage .coverage.* htmlcov .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
