# fiblab: `make lab` opens the series in JupyterLab, `make test` runs every test.
# Both create a local virtual environment (.venv) on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: lab test test-fast test-sqlite notebooks handouts postgres-start postgres-stop clean-scratch
.PHONY: install-browser test-latest check-wheels

# A PYTHON outside the supported range (pyproject.toml, [tool.fiblab] pythons) gives way to
# a supported python3.X on the PATH; with none, tools/find_python.sh says which versions
# work and how to get one, and nothing is created.
$(BIN)/.fiblab-installed: pyproject.toml
	@python=$$(tools/find_python.sh '$(PYTHON)') && \
		echo "$$python -m venv $(VENV)" && "$$python" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# Jupyter refuses to run as root without --allow-root (containers, CI machines).
ALLOW_ROOT = $(if $(filter 0,$(shell id -u)),--allow-root,)

# Notebook 09 starts a throwaway PostgreSQL from these binaries: say where they are or how to get them.
lab: $(BIN)/.fiblab-installed
	@$(BIN)/python -m fiblab.localpg check
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/00_index.ipynb

# SQLite pass (every tier; the notebooks through tests/test_notebook_reruns.py, which runs
# each twice in one kernel: the student edition with every exercise skipped, where only
# the exercise checks may fail, then the instructor edition, all green, kept for the
# handouts test), then the integration and notebook tiers on a throwaway local PostgreSQL
# (installed with apt-get when we are root; skipped loudly if impossible), each notebook
# once through nbmake as the project's users run them (notebooks/conftest.py fails a
# notebook whose outputs show the database password).
# The unit and integration tiers mostly wait on servers: three pytest-xdist workers, by
# file (two cores ~80 % busy; two workers left them ~60 % busy). The notebooks run two at
# a time: their speed checks have margins measured with every core kept busy
# (benchmarks/README.md, "Notebook timing checks"). The e2e tier (handouts in a
# browser, a Jupyter server, Run All in JupyterLab in Chromium) runs alone, after them.
PARALLEL = -n 3 --dist loadfile
NOTEBOOKS_PARALLEL = -n 2 --dist load
# The e2e session reuses the notebooks executed since `make test` started (for handouts).
STARTED := $(shell date +%s)
test: $(BIN)/.fiblab-installed
	$(BIN)/ruff check fiblab tests tools benchmarks notebooks/conftest.py
	$(BIN)/ruff format --check fiblab tests tools benchmarks notebooks/conftest.py
	$(BIN)/python tools/build_notebooks.py --check
	$(BIN)/lint-imports
	@# PostgreSQL's binaries first (installed as root where missing): pass 2's cluster and the
	@# throwaway clusters of the outage tests need them.
	$(BIN)/python -m fiblab.localpg check --install
	@echo "=== pass 1/2: SQLite (notebooks: student then instructor edition, one kernel each) ==="
	$(BIN)/python -m pytest -m "unit or integration" $(PARALLEL) tests
	$(BIN)/python -m pytest -m notebook $(NOTEBOOKS_PARALLEL) tests
	FIBLAB_EXECUTED_SINCE=$(STARTED) $(BIN)/python -m pytest -m e2e tests
	@echo "=== pass 2/2: PostgreSQL ==="
	$(BIN)/python -m fiblab.localpg run --install -- sh -c '\
		$(BIN)/python -m pytest -m integration $(PARALLEL) tests && \
		$(BIN)/python -m pytest -m notebook $(NOTEBOOKS_PARALLEL) --nbmake tests notebooks'

# Every supported Python on Linux and macOS installs the pins from wheels alone (asks the
# package index: twenty resolves, eight at a time; README, "Wheels everywhere").
check-wheels: $(BIN)/.fiblab-installed
	$(BIN)/python tools/check_wheels.py

# The package's layers (lint-imports, [tool.importlinter] in pyproject.toml), then the unit
# tier only (no process, no database): seconds, for every edit.
test-fast: $(BIN)/.fiblab-installed
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m unit tests

# Bare pytest: every tier on SQLite, each notebook once (tests/test_notebook_reruns.py).
test-sqlite: $(BIN)/.fiblab-installed
	$(BIN)/python -m pytest

postgres-start: $(BIN)/.fiblab-installed
	$(BIN)/python -m fiblab.localpg start

postgres-stop: $(BIN)/.fiblab-installed
	$(BIN)/python -m fiblab.localpg stop

# Workshop handouts (instructor + student editions) in handouts/: open handouts/index.html.
handouts: $(BIN)/.fiblab-installed
	@$(BIN)/python -m fiblab.localpg check
	$(BIN)/python tools/handouts.py --out handouts

# Drift guard: notebooks and integration tests against the newest dbos release, not the
# pin, in .venv-latest (see README, Tests). PYTEST_ARGS narrows it, e.g. PYTEST_ARGS='-k server'.
test-latest:
	PYTHON=$(PYTHON) tools/test_latest.sh $(PYTEST_ARGS)

# The headless Chromium the handout and JupyterLab browser tests use (Debian's chromium;
# apt-get as root; Playwright drives it and downloads no browser of its own).
install-browser:
	tools/install_browser.sh

notebooks: $(BIN)/.fiblab-installed
	$(BIN)/python tools/build_notebooks.py

clean-scratch:
	rm -rf notebooks/scratch tests/scratch scratch
