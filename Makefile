# The two commands of the README: `make demo` and `make test`.
# Both build .venv from scratch when it is missing; `make test` also installs the
# Debian packages the tests need (age, chromium) when they are missing and we may.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit sysdeps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pijler3 demo --out out/demo

sysdeps:
	@sh scripts/sysdeps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) sysdeps
	$(BIN)/pytest -n auto

test: lint typecheck unit

bench: $(STAMP)
	# naive_pandas.py is not a benchmark of its own: chain.py runs it on its extracts.
	for f in bench/*.py; do [ $$f = bench/naive_pandas.py ] || $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
