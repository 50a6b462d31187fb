"""A scripted visit to a ctask workspace from Python.

Run it with the package installed (``make py-demo`` does): it creates a workspace under a
temporary root (or under the root given as the first argument), records a session in which a
"script agent" writes and renames files, runs a command as a second session, and prints
what ctask recorded. Type-checked with ``mypy --strict``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import ctask


def visit(workspace: ctask.Workspace) -> ctask.Summary:
    """One session: write a draft, edit the notes."""
    with ctask.Session(workspace, agent="example-script") as s:
        print(f"session {s.id} in {s.launch_dir}")
        work = Path(s.launch_dir)
        (work / "draft.txt").write_text("first draft\n")
        (work / "notes.md").write_text("# Notes\n\n- wrote a draft\n")
        # The agent would be launched like this; here a child just lists the variables.
        subprocess.run(
            [sys.executable, "-c", "import os; print(sorted(k for k in os.environ if k.startswith('CTASK_')))"],
            cwd=s.launch_dir,
            env={**os.environ, **s.env},
            check=True,
        )
        s.exit_code = 0
    assert s.summary is not None
    return s.summary


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ctask-example-") as tmp:
        root = Path(sys.argv[1] if len(sys.argv) > 1 else tmp)
        workspace = ctask.Workspace.create("Python example", category="demo", root=root)
        print(f"created {workspace.path}")

        summary = visit(workspace)
        print(summary)
        print("added:", summary.files_added, "modified:", summary.files_modified)

        # A second session around a command: it renames the draft.
        result = ctask.run(workspace.path, ["mv", "draft.txt", "report.txt"])
        print(f"run exited {result.exit_code}; renamed: {result.summary.files_renamed}")

        status = ctask.status(workspace.path)
        print(f"state now: {status.state}; last session ended: {status.last_summary and status.last_summary.end_reason}")

        before = ctask.capture_manifest(workspace.path)
        (workspace.path / "scratch.txt").write_text("outside any session\n")
        after = ctask.capture_manifest(workspace.path)
        print("changed outside a session:", ctask.diff(before, after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
