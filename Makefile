# Two commands that work on a fresh machine with only Python 3.11 and make:
#   make demo   -> install, generate a network in an embedded MongoDB-compatible server,
#                  extract it to DuckDB, build the warehouse with dbt, print the reports
#   make test   -> install, run every test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test bench lock dagster clean

install: $(STAMP)

# The venv is rebuilt from the committed lock whenever the lock or pyproject changes.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

# Test modules run on both cores (each module builds its own warehouse and server; loadfile keeps
# a module's module-scoped fixtures in one worker). Override with PYTEST_ARGS=... to run serially.
PYTEST_ARGS ?= -n 2 --dist loadfile

demo: install
	$(BIN)/abacus demo $(ARGS)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# make bench SIZE=S|M|L
SIZE ?= S
bench: install
	$(BIN)/python -m bench.run --size $(SIZE)

dagster: install
	$(BIN)/dagster dev

# Re-resolve the lock after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) data target logs dbt_project/target dbt_project/logs
