#!/usr/bin/env bash
# make bench: build the release ctask binary and the harness, then build the test trees
# under a temporary directory, measure (snapshots on, the default, except where a row says
# off) and write docs/performance.md.
#
# Environment: BENCH_SCALE (default 1; e.g. 0.1 for a quick trial: the report then goes to
# the terminal only unless BENCH_OUT is set), BENCH_RUNS (default 5), BENCH_COLD_RUNS (default 3: runs with the
# page cache dropped), BENCH_SNAP_COLD_RUNS (default 3: cold begin+end runs with snapshots on,
# each filling a store from empty), BENCH_DROP_CACHES
# (default: 1 when root), BENCH_KEEP=1 (keep the trees), BENCH_TMPDIR, BENCH_OUT, CARGO,
# BENCH_REAL_SOURCES (colon-separated directories the real-file tree is copied from; default:
# the machine's crate sources, C headers, /usr/share, Rust docs, /usr/lib), BENCH_BACKENDS=0
# (measure only ctask's own SHA-256 hasher: no build of ring and aws-lc-rs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cd "$repo"
cargo=${CARGO:-cargo}

for tool in git sha256sum xargs findmnt; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

target=$("$cargo" metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin=$target/release
# The profiling build first (its counters cost time, so only the profile uses it), then the
# plain one, which replaces target/release/ctask-bench; `ctask-bench run` refuses to be a
# profiling build. ctask itself is built alone, so no bench feature reaches it.
"$cargo" build --release --quiet -p ctask-bench --features profile
cp "$bin/ctask-bench" "$bin/ctask-bench-profile"
"$cargo" build --release --quiet -p ctask-cli
features=backends
[[ ${BENCH_BACKENDS:-1} == 0 ]] && features=
"$cargo" build --release --quiet -p ctask-bench ${features:+--features "$features"}

out=${BENCH_OUT:-}
if [[ -z $out && ${BENCH_SCALE:-1} == 1 ]]; then
    out=$repo/docs/performance.md
fi

echo "bench: load average now: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec "$bin/ctask-bench" run --ctask "$bin/ctask" --profile-bin "$bin/ctask-bench-profile" \
    ${out:+--out "$out"}
