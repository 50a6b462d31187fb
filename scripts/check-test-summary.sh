#!/usr/bin/env bash
# Checks scripts/test-summary.py (the last line of `make test`) on sample logs: each
# runner's result lines are added up, the exit status is passed on, and a failed step with
# no failing test still counts as a failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
expect() { # expect NAME STATUS WANT_LAST_LINE WANT_EXIT (log on stdin)
    cat >"$tmp/log"
    out=$(python3 "$here/test-summary.py" "$tmp/log" "$2")
    code=$?
    if [[ $(tail -1 <<<"$out") == "$3" && $code == "$4" ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "check-test-summary: FAIL: $1: got '$(tail -1 <<<"$out")' exit $code, want '$3' exit $4" >&2
    fi
}
expect "every runner" 0 "89 passed, 5 failed" 0 <<'LOG'
test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.0s
test result: FAILED. 3 passed; 2 failed; 0 ignored
ctask-c-api: 40 passed, 0 failed
=== RUN   TestA
--- PASS: TestA (0.00s)
    --- PASS: TestA/sub (0.00s)
--- FAIL: TestB (0.00s)
FAIL	example.invalid/ctask/go [build failed]
27 passed, 1 skipped in 3.21s
==== 1 failed, 5 passed in 2.00s ====
Success: no issues found in 3 source files
LOG
expect "a failing suite keeps its status" 2 "3 passed, 2 failed" 2 <<'LOG'
test result: FAILED. 3 passed; 2 failed; 0 ignored
LOG
expect "a failed step without a failing test" 2 "1 passed, 1 failed" 2 <<'LOG'
ctask-version: 1 passed, 0 failed
error: could not compile
LOG
expect "all passed" 0 "4 passed, 0 failed" 0 <<'LOG'
test result: ok. 4 passed; 0 failed; 0 ignored
LOG
echo "check-test-summary: $passed passed, $failed failed"
[[ $failed == 0 ]]
