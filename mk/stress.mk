# Reliability figures: crash injection, concurrency stress, signals, write.lock, hostile
# workspaces and property tests (docs/reliability.md).
#
# Included by the top-level Makefile. Targets:
#   stress        the full figures (20 kills per crash point, 16 processes x 100 cycles,
#                 60 signals, 20 killed write.lock holders, 100 swap races, 5000 cases per
#                 property); well under 20 minutes on 2 cores; prints every figure
#   stress-short  the crash-injection tests at 2 kills per point and the deterministic
#                 directory swap between the walk's steps (the feature build that
#                 `cargo test --workspace` does not cover; the other suites run there with
#                 small defaults)

CARGO ?= cargo
SHELL := /bin/bash

STRESS_CRASH_RUNS ?= 20
STRESS_PROCS ?= 16
STRESS_CYCLES ?= 100
STRESS_SIGNAL_RUNS ?= 60
STRESS_WRITELOCK_ROUNDS ?= 20
STRESS_SWAP_RUNS ?= 100
STRESS_FUZZ_CASES ?= 5000

.PHONY: stress stress-short

stress:
	@set -e -o pipefail; log=$$(mktemp); trap 'rm -f $$log' EXIT; start=$$(date +%s); \
	echo "== crash injection ($(STRESS_CRASH_RUNS) kills per point)"; \
	CTASK_CRASH_RUNS=$(STRESS_CRASH_RUNS) $(CARGO) test -q -p ctask-cli --features crash-points \
		--test crash -- --nocapture --test-threads=1 2>&1 | tee -a $$log | grep -E '^(FIGURE|test result)'; \
	echo "== a directory swapped between the walk's steps (both captures)"; \
	$(CARGO) test -q -p ctask-cli --features crash-points --test walk_swap 2>&1 | tee -a $$log \
		| grep -E '^test result'; \
	echo "== concurrency, write.lock, signals ($(STRESS_PROCS) x $(STRESS_CYCLES))"; \
	CTASK_STRESS_PROCS=$(STRESS_PROCS) CTASK_STRESS_CYCLES=$(STRESS_CYCLES) \
	CTASK_SIGNAL_RUNS=$(STRESS_SIGNAL_RUNS) CTASK_STRESS_WRITELOCK_ROUNDS=$(STRESS_WRITELOCK_ROUNDS) \
		$(CARGO) test -q -p ctask-cli --test stress -- --nocapture 2>&1 | tee -a $$log | grep -E '^(FIGURE|test result)'; \
	echo "== hostile workspaces"; \
	CTASK_HOSTILE_SWAP_RUNS=$(STRESS_SWAP_RUNS) $(CARGO) test -q -p ctask-cli --test hostile \
		-- --nocapture 2>&1 | tee -a $$log | grep -E '^(FIGURE|SKIPPED|test result)'; \
	echo "== property tests ($(STRESS_FUZZ_CASES) cases each)"; \
	CTASK_FUZZ_CASES=$(STRESS_FUZZ_CASES) $(CARGO) test -q -p ctask-core --test fuzz_parse \
		-- --nocapture 2>&1 | tee -a $$log | grep -E '^test result'; \
	echo "== figures"; \
	grep -E '^FIGURE ' $$log | sed 's/^FIGURE /  /'; \
	echo "  fuzz.executions: $$(grep -E '^FIGURE fuzz\.[a-z_]+\.executions: ' $$log | awk '{n += $$3} END {print n + 0}')"; \
	echo "  fuzz.panics: $$(grep -E '^FIGURE fuzz\.[a-z_]+\.panics: ' $$log | awk '{n += $$3} END {print n + 0}')"; \
	echo "  skipped: $$(grep -c '^SKIPPED' $$log)"; \
	echo "  wall_seconds: $$(( $$(date +%s) - start ))"

stress-short:
	CTASK_CRASH_RUNS=2 $(CARGO) test -p ctask-cli --features crash-points --test crash --test walk_swap
