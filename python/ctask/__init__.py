"""ctask: named workspaces for AI-agent work, and a recorded session around every visit.

The work is done by the Rust extension ``ctask._ctask``; this package re-exports it::

    import ctask

    with ctask.Session(path, agent="my-script") as s:
        subprocess.run(["claude"], cwd=s.launch_dir, env={**os.environ, **s.env})
    print(s.summary)
"""

from ctask._ctask import (
    ActiveSessionError,
    AgentNotFoundError,
    AmbiguousQueryError,
    CtaskError,
    CtaskWarning,
    Diff,
    DiffReport,
    Event,
    FormatError,
    Lease,
    LockTimeoutError,
    Manifest,
    ManifestEntry,
    PathSecurityError,
    PersistentSession,
    Rename,
    RunResult,
    Session,
    Status,
    Summary,
    TmuxError,
    Watcher,
    Workspace,
    WorkspaceNotFoundError,
    __version__,
    capture_manifest,
    diff,
    diff_since_last,
    list_workspaces,
    resolve,
    run,
    status,
    watch,
)

__all__ = [
    "ActiveSessionError",
    "AgentNotFoundError",
    "AmbiguousQueryError",
    "CtaskError",
    "CtaskWarning",
    "Diff",
    "DiffReport",
    "Event",
    "FormatError",
    "Lease",
    "LockTimeoutError",
    "Manifest",
    "ManifestEntry",
    "PathSecurityError",
    "PersistentSession",
    "Rename",
    "RunResult",
    "Session",
    "Status",
    "Summary",
    "TmuxError",
    "Watcher",
    "Workspace",
    "WorkspaceNotFoundError",
    "__version__",
    "capture_manifest",
    "diff",
    "diff_since_last",
    "list_workspaces",
    "resolve",
    "run",
    "status",
    "watch",
]
