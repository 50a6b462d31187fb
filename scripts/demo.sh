#!/usr/bin/env bash
# A scripted tour of ctask on a temporary root: create workspaces, look at them, run a
# session in which a demo agent adds, edits, renames and deletes files, then show what ctask
# recorded. Usage: CTASK=path/to/ctask scripts/demo.sh
set -euo pipefail
CTASK=${CTASK:-ctask}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CTASK_ROOT="$tmp/root" XDG_CONFIG_HOME="$tmp/config" HOME="$tmp/home"
unset CTASK_WORKSPACE CTASK_LAUNCH_DIR CTASK_SESSION_MODE CTASK_PROJECT_ROOT CTASK_AGENT
mkdir -p "$HOME"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
# Shows a command (ctask as `ctask`), then runs it: its messages always follow it.
show() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }
step() {
  local shown=() a
  for a in "$@"; do
    case $a in
      "$CTASK") shown+=(ctask) ;;
      *[[:space:]\'\"\$\!\;\&\|\<\>\(\)\*\?]*) shown+=("\"$a\"") ;;
      *) shown+=("$a") ;;
    esac
  done
  show "${shown[*]}"
  "$@"
}
# Shows a shell command that edits the workspace, then runs it there.
edit() { show "$1"; (cd "$ws" && eval "$1"); }

step "$CTASK" --version
show 'ws=$(ctask new "Fix Auth: login!" --no-launch)'
ws=$("$CTASK" new "Fix Auth: login!" --no-launch)
printf '%s\n' "$ws"
step "$CTASK" new "Write release notes" -c writing --no-launch
step "$CTASK" list
step "$CTASK" info fix-auth
step "$CTASK" path fix-auth

# Something to work on before the first session (in the workspace, with no session).
edit "printf 'def login(user):\\n    return True\\n' > auth.py"
edit "printf 'old design notes\\n' > design.txt"
edit "printf 'scratch\\n' > scratch.txt"

# The demo agent: an ordinary program that edits the workspace it is started in.
agent="$tmp/demo-agent"
cat > "$agent" <<'AGENT'
#!/bin/sh
set -e
echo "demo agent: session $CTASK_SESSION_ID in $CTASK_TASK"
printf 'def login(user, password):\n    return check(user, password)\n' > auth.py
printf 'def test_login():\n    pass\n' > test_auth.py
mv design.txt DESIGN.md
rm scratch.txt
printf '\n- login now checks the password\n' >> notes.md
AGENT
chmod +x "$agent"

step "$CTASK" resume fix-auth --agent "$agent"
step "$CTASK" status fix-auth
echo
echo "\$ cat .ctask/last-session-summary.json   (without its end manifest)"
sed '/"end_manifest": \[/,$d' "$ws/.ctask/last-session-summary.json"
echo '  "end_manifest": [ … one entry per file … ]'
echo '}'

# A change made while no session was running is reported by `diff` and by the next begin.
edit "printf 'hotfix\\n' >> auth.py"
step "$CTASK" diff fix-auth
step "$CTASK" diff fix-auth --json
step "$CTASK" resume fix-auth --agent true
step "$CTASK" log fix-auth
echo
echo "demo finished; the temporary root is removed on exit"
