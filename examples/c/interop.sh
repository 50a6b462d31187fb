#!/usr/bin/env bash
# A session begun from C is `active` to `ctask status`; ended from C, its summary is the
# JSON the CLI reports (`ctask status --json`'s last_summary) and the summary file holds.
#
#   interop.sh EXAMPLE_BINARY CTASK_BINARY [RUNNER…]
#
# RUNNER (e.g. valgrind and its options) is put in front of the example program.
set -euo pipefail

example=$1
ctask=$2
shift 2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CTASK_ROOT="$tmp/tasks" XDG_CONFIG_HOME="$tmp/config"
unset CTASK_PROJECT_ROOT CTASK_WORKSPACE CTASK_LAUNCH_DIR CTASK_SESSION_MODE \
    CTASK_SEED_DIR CTASK_SEED_PROJECT_DIR

ws=$("$ctask" -q new --no-launch "C interop")

coproc EX { "$@" "$example" "$ws" --hold 2>"$tmp/example.err"; }
example_pid=$EX_PID
example_in=${EX[1]}
example_out=${EX[0]}
if ! read -r word id <&"$example_out" || [[ $word != session ]]; then
    echo "interop: the example did not report a session" >&2
    cat "$tmp/example.err" >&2
    exit 1
fi

"$ctask" status "$ws" --json >"$tmp/live.json"
echo "made while the C session was live" >"$ws/from-c.txt"

echo end >&"$example_in"
cat <&"$example_out" >"$tmp/summary.json"
wait "$example_pid" || { cat "$tmp/example.err" >&2; exit 1; }

"$ctask" status "$ws" --json >"$tmp/after.json"

python3 - "$id" "$tmp" "$ws" <<'PY'
import json, sys
sid, tmp, ws = sys.argv[1:4]
live = json.load(open(f"{tmp}/live.json"))
after = json.load(open(f"{tmp}/after.json"))
summary = json.load(open(f"{tmp}/summary.json"))
on_disk = json.load(open(f"{ws}/.ctask/last-session-summary.json"))
on_disk.pop("end_manifest", None)
checks = {
    "ctask status sees the C session as active": live["state"] == "active",
    "with the C session's id": live.get("lease", {}).get("session_id") == sid,
    "and its agent label": live.get("lease", {}).get("agent") == "c-example",
    "after the end the workspace is free": after["state"] == "none",
    "the summary from C is the CLI's last_summary": after.get("last_summary") == summary,
    "and the summary file (without end_manifest)": on_disk == summary,
    "the summary records the file made meanwhile": "from-c.txt" in summary["files_added"],
}
failed = [k for k, ok in checks.items() if not ok]
for k in failed:
    print(f"interop: FAIL: {k}", file=sys.stderr)
print(f"ctask-interop: {len(checks) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
PY
