#!/usr/bin/env bash
# make bench: build the release ctask binary and the harness, then build the test trees
# under a temporary directory, measure and write docs/performance.md.
#
# Environment: BENCH_SCALE (default 1; e.g. 0.1 for a quick trial: the report then goes to
# the terminal only unless BENCH_OUT is set), BENCH_RUNS (default 5), BENCH_COLD_RUNS (default 3: runs with the
# page cache dropped), BENCH_DROP_CACHES
# (default: 1 when root), BENCH_KEEP=1 (keep the trees), BENCH_TMPDIR, BENCH_OUT, CARGO.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cd "$repo"
cargo=${CARGO:-cargo}

for tool in git sha256sum xargs findmnt; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

"$cargo" build --release --quiet -p ctask-cli -p ctask-bench
target=$("$cargo" metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin=$target/release

out=${BENCH_OUT:-}
if [[ -z $out && ${BENCH_SCALE:-1} == 1 ]]; then
    out=$repo/docs/performance.md
fi

echo "bench: load average now: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec "$bin/ctask-bench" run --ctask "$bin/ctask" ${out:+--out "$out"}
