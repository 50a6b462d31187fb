# The examples of README.md and docs/*.md, run as written (scripts/run-doc-examples.py):
# shell and Python blocks against a temporary home and root, with the installed ctask of
# install-test and the Python package of the venv; Python blocks also pass mypy --strict.

.PHONY: docs-test

docs-test: py-install install-test-prefix
	python3 scripts/run-doc-examples.py $(PY_BIN)/python '$(INSTALL_TEST_PREFIX)/bin'
