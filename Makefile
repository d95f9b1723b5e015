# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
# demisto-sdk (XSOAR's pack validator) needs pydantic 1, the project pydantic 2: it gets a venv of its own.
XSOAR_VENV ?= .venv-xsoar
XSOAR_STAMP := $(XSOAR_VENV)/.installed

.PHONY: install demo test test-lowest lint bench schemas manifest docs clean

# The modules an editable install compiles with mypyc (hatch_build.py's COMPILED): changing one
# installs again, so that what runs is never an older compile of it.
COMPILED := connector/hygiene/drops.py connector/hygiene/values.py connector/hygiene/network.py \
	connector/hygiene/times.py connector/records.py connector/vendors/sentinelone/threats.py

install: $(STAMP) $(XSOAR_STAMP)

$(STAMP): pyproject.toml hatch_build.py $(COMPILED)
	@# The task queue's tests run a real redis-server: Debian's package, installed when absent and root (as CI is).
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "make install: installing redis-server with apt-get (Debian's package), because the task-queue tests run a real Redis" \
		&& (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null); } \
		|| echo "note: redis-server is not installed (apt-get install redis-server); the task-queue tests will skip"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,soar,keyring]'
	touch $(STAMP)

$(XSOAR_STAMP):
	$(PYTHON) -m venv $(XSOAR_VENV)
	$(XSOAR_VENV)/bin/pip install --quiet --upgrade pip
	$(XSOAR_VENV)/bin/pip install --quiet 'demisto-sdk>=1.39'
	touch $(XSOAR_STAMP)

demo: $(STAMP)
	$(BIN)/connector playbook run examples/triage.yaml --sandbox --format table

lint: $(STAMP)
	$(BIN)/ruff check connector tests benchmarks hatch_build.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint $(XSOAR_STAMP)
	$(BIN)/pytest -n 2

# The suite on the lowest version of each direct dependency that pyproject.toml allows, in a venv of
# its own (uv from PyPI resolves them); `make test-lowest TESTS="tests/test_http.py -x"` runs a part.
LOWEST ?= .venv-lowest
TESTS ?= -n 2
test-lowest:
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/pip install --quiet uv
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[dev,soar]'
	$(LOWEST)/bin/pytest $(TESTS)

# The peer row's singer-sdk tap needs the bench extra; `make install` (and CI) go without it.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@# Start-up rows time what an installed package runs: its bytecode compiled (as pip compiles it),
	@# even where PYTHONDONTWRITEBYTECODE keeps imports from writing it.
	$(BIN)/python -m compileall -q connector benchmarks
	$(BIN)/python -m benchmarks

schemas: $(STAMP)
	$(BIN)/python -m connector.generated

manifest: $(STAMP)
	$(BIN)/python -m connector.manifest

docs: $(STAMP)
	$(BIN)/connector docs docs --readme README.md

clean:
	rm -rf $(VENV) $(XSOAR_VENV) $(LOWEST) .pytest_cache .mypy_cache .ruff_cache
