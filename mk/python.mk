# The Python package (ctask-py + python/ctask): build the wheel with maturin into a venv
# this file creates, install it, and check it: pytest, mypy.stubtest, mypy --strict.
#
# Targets: py-test (all of it), py-demo (the typed example against a temporary root),
# py-venv, py-wheel, py-install, py-clean. Works on a fresh clone; needs python3 and
# network access to PyPI the first time (the tools are installed into $(PY_VENV)).

PYTHON ?= python3
PY_VENV ?= .venv
PY_BIN := $(PY_VENV)/bin
PY_WHEELS ?= target/wheels
PY_TOOLS := "maturin>=1.7,<2" "pytest>=7" "mypy>=1.10"
PY_STAMP := $(PY_VENV)/.ctask-tools

.PHONY: py-venv py-wheel py-install py-test py-demo py-clean

py-venv: $(PY_STAMP)

$(PY_STAMP):
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv; \
	  else echo "python.mk: $(PYTHON) cannot create a venv (install python3-venv)" >&2; exit 1; fi; \
	fi
	$(PYTHON) -m venv $(PY_VENV)
	$(PY_BIN)/python -m pip install --quiet --upgrade pip
	$(PY_BIN)/python -m pip install --quiet $(PY_TOOLS)
	touch $@

py-wheel: $(PY_STAMP)
	rm -f $(PY_WHEELS)/ctask-*.whl
	$(PY_BIN)/maturin build --release --interpreter $(PY_BIN)/python --out $(PY_WHEELS)

py-install: py-wheel
	$(PY_BIN)/python -m pip install --quiet --force-reinstall --no-deps $(PY_WHEELS)/ctask-*.whl

py-test: py-install
	$(PY_BIN)/python -m pytest -q -p no:cacheprovider tests/python
	cd $(PY_VENV) && bin/python -m mypy.stubtest ctask._ctask
	$(PY_BIN)/python -m mypy --cache-dir $(PY_VENV)/.mypy_cache --strict examples/python/example.py tests/python
	@echo "py-test: pytest, stubtest and mypy --strict passed"

py-demo: py-install
	env -u CTASK_ROOT -u CTASK_WORKSPACE $(PY_BIN)/python examples/python/example.py

py-clean:
	rm -rf $(PY_VENV) $(PY_WHEELS)
