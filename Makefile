# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench schemas manifest docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@# The task queue's tests run a real redis-server: Debian's package, installed when absent and root (as CI is).
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "make install: installing redis-server with apt-get (Debian's package), because the task-queue tests run a real Redis" \
		&& (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null); } \
		|| echo "note: redis-server is not installed (apt-get install redis-server); the task-queue tests will skip"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,soar,keyring]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/connector playbook run examples/triage.yaml --sandbox --format table

lint: $(STAMP)
	$(BIN)/ruff check connector tests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python -m benchmarks

schemas: $(STAMP)
	$(BIN)/python -m connector.schemas

manifest: $(STAMP)
	$(BIN)/python -m connector.manifest

docs: $(STAMP)
	$(BIN)/connector docs docs --readme README.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
