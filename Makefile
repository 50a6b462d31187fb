# ctask — build, test and demo entry points. `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build test lint rust-test demo clean

all: build

build:
	$(CARGO) build --workspace --release

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

test: lint rust-test
	@echo "make test: all checks passed"

demo:
	$(CARGO) build --release -p ctask-cli
	CTASK=$(CURDIR)/target/release/ctask bash scripts/demo.sh

clean:
	$(CARGO) clean
	rm -rf .venv
