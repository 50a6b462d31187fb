# make bench: measure the SHA-256 backends alike, build test trees (≈100k source-like files /
# 1 GB, a node_modules-like tree, ≈100k real files copied from the machine, 10k and 30k
# trees) under a temporary directory, measure ctask's capture and begin+end against git
# status, sha256sum and the OpenSSL limit, snapshots on against off and `ctask undo`, the
# cold capture's floor (open/fstat/read/close alone), profile a cold capture, and write
# docs/performance.md. Takes several minutes and ~5 GB of temporary disk space;
# BENCH_SCALE=0.1 makes a quick trial (terminal only). See bench/run.sh for the other
# BENCH_* settings.

.PHONY: bench

bench:
	CARGO=$(CARGO) bash bench/run.sh
