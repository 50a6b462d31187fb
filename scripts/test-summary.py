#!/usr/bin/env python3
"""Adds up the results of every test runner in the log of `make test` and prints one line,
``N passed, N failed``, last.

    test-summary.py LOG EXIT_STATUS

Each runner is read from its own result lines: cargo test's ``test result: … N passed;
N failed``, go test -v's ``--- PASS`` / ``--- FAIL`` (and ``FAIL pkg [build failed]``),
pytest's closing ``N passed, N failed in Xs``, and the ``name: N passed, N failed`` lines of
the C programs and check scripts. Exits with EXIT_STATUS; a failed step that reported no
failing test (a lint error, a build error) still counts as one failure, so the line never
says ``0 failed`` for a failed run.
"""

import re
import sys

CARGO = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed")
GO_CASE = re.compile(r"^\s*--- (PASS|FAIL): ")
GO_BUILD = re.compile(r"^FAIL\s+\S+\s+\[(build|setup) failed\]")
PYTEST = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+s\b")
NAMED = re.compile(r"^[\w.-]+: (\d+) passed, (\d+) failed$")


def count(lines):
    passed = failed = 0
    for line in lines:
        line = line.rstrip("\n")
        if m := CARGO.match(line):
            passed += int(m.group(1))
            failed += int(m.group(2))
        elif m := GO_CASE.match(line):
            if m.group(1) == "PASS":
                passed += 1
            else:
                failed += 1
        elif GO_BUILD.match(line):
            failed += 1
        elif m := NAMED.match(line):
            passed += int(m.group(1))
            failed += int(m.group(2))
        elif m := PYTEST.match(line):
            for part in m.group(1).split(", "):
                n, word = part.split(" ", 1)
                if word == "passed":
                    passed += int(n)
                elif word in ("failed", "error", "errors"):
                    failed += int(n)
    return passed, failed


def main():
    log, status = sys.argv[1], int(sys.argv[2])
    with open(log, encoding="utf-8", errors="replace") as f:
        passed, failed = count(f)
    if status != 0 and failed == 0:
        print("make test: a step failed without a failing test (see above); counted as one")
        failed = 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(status)


if __name__ == "__main__":
    main()
