# ctask — build, test and demo entry points. `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build test test-suites summary-test lint rust-test tools demo clean bench

.DEFAULT_GOAL := all

include mk/c.mk
include mk/install.mk
include mk/python.mk
include mk/docs.mk
include mk/stress.mk
# make bench (not part of make test).
-include mk/bench.mk

all: build

build:
	$(CARGO) build --workspace --release

# Command-line tools the test suites drive. As root they are installed with apt-get when
# missing; a tool still missing is an error (never a silent skip).
TEST_TOOLS := tmux:tmux zsh:zsh script:bsdutils git:git
tools:
	@missing=""; for pair in $(TEST_TOOLS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing with apt-get"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } >/dev/null \
	      || { echo "error: apt-get install$$missing failed" >&2; exit 1; }; \
	  else \
	    echo "error: missing tools:$$missing (install them, or run as root)" >&2; exit 1; \
	  fi; \
	fi

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p ctask-cli --all-targets --features crash-points -- -D warnings

rust-test: tools
	$(CARGO) test --workspace --quiet

# Every suite; the output ends with one line `N passed, N failed` adding up the results of
# all of them (scripts/test-summary.py), and the exit status is non-zero when any failed.
TEST_SUITES := summary-test lint rust-test stress-short c-test install-test go-test py-test docs-test

test:
	@set -o pipefail; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	$(MAKE) --no-print-directory test-suites 2>&1 | tee "$$log"; status=$$?; \
	python3 scripts/test-summary.py "$$log" $$status

test-suites: $(TEST_SUITES)
	@echo "make test: all suites ran"

# The summary line itself, on sample logs of every runner.
summary-test:
	@bash scripts/check-test-summary.sh

demo:
	$(CARGO) build --release -p ctask-cli
	CTASK=$(CURDIR)/target/release/ctask bash scripts/demo.sh
	@echo; echo "=== the same from Python (builds the wheel into .venv) ==="
	$(MAKE) --no-print-directory py-demo

clean:
	$(CARGO) clean
	rm -rf .venv
