"""Type stubs of the extension module ``ctask._ctask`` (kept by hand, checked by stubtest)."""

import os
from collections.abc import Awaitable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, Optional, Union, final, overload

from typing_extensions import TypeAlias

_StrPath: TypeAlias = Union[str, "os.PathLike[str]"]

__version__: str

__all__ = [
    "ActiveSessionError",
    "AgentNotFoundError",
    "AmbiguousQueryError",
    "CtaskError",
    "CtaskWarning",
    "Diff",
    "DiffReport",
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
    "Workspace",
    "WorkspaceNotFoundError",
    "__version__",
    "capture_manifest",
    "cli_main",
    "diff",
    "diff_since_last",
    "list_workspaces",
    "resolve",
    "run",
    "status",
]

# --- exceptions -----------------------------------------------------------------------

class CtaskError(Exception):
    """Base class of every error ctask raises."""

class ActiveSessionError(CtaskError):
    """A live session owns the workspace."""

    pid: int
    hostname: str
    session_id: str
    owner: Lease

class LockTimeoutError(CtaskError):
    """write.lock could not be taken in time."""

    path: Path

class PathSecurityError(CtaskError):
    """A path escapes the workspace or goes through a symlink."""

    path: Path
    detail: str

class WorkspaceNotFoundError(CtaskError):
    """No workspace matches the query or path."""

    query: str

class AmbiguousQueryError(CtaskError):
    """The query matches several workspaces."""

    query: str
    candidates: list[Path]

class AgentNotFoundError(CtaskError):
    """The command to launch is not on PATH."""

    command: str

class FormatError(CtaskError):
    """A file does not have the expected format."""

    path: Path
    detail: str

class TmuxError(CtaskError):
    """tmux is missing, too old or failed."""

    detail: str

class CtaskWarning(UserWarning):
    """A problem ctask met and worked around (e.g. an unreadable summary file)."""

# --- results --------------------------------------------------------------------------

@final
class Rename:
    def __new__(cls, *, from_: str, to: str) -> Rename: ...
    @property
    def from_(self) -> str: ...
    @property
    def to(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Diff:
    def __new__(
        cls,
        *,
        added: list[str] = ...,
        modified: list[str] = ...,
        deleted: list[str] = ...,
        renamed: list[Rename] = ...,
    ) -> Diff: ...
    @property
    def added(self) -> list[str]: ...
    @property
    def modified(self) -> list[str]: ...
    @property
    def deleted(self) -> list[str]: ...
    @property
    def renamed(self) -> list[Rename]: ...
    def is_empty(self) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Summary:
    @property
    def session_id(self) -> str: ...
    @property
    def hostname(self) -> str: ...
    @property
    def agent(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def started_at(self) -> Optional[datetime]: ...
    @property
    def ended_at(self) -> Optional[datetime]: ...
    @property
    def duration_seconds(self) -> int: ...
    @property
    def files_added(self) -> list[str]: ...
    @property
    def files_modified(self) -> list[str]: ...
    @property
    def files_deleted(self) -> list[str]: ...
    @property
    def files_renamed(self) -> list[Rename]: ...
    @property
    def notes_updated(self) -> bool: ...
    @property
    def end_reason(
        self,
    ) -> Optional[
        Literal["child_exited", "tmux_session_ended", "owner_died", "abandoned", "exception"]
    ]: ...
    @property
    def detected_via(self) -> Optional[Literal["child_exit", "polling", "recovery", "drop"]]: ...
    @property
    def exit_code(self) -> Optional[int]: ...
    @property
    def outside_changes(self) -> Optional[Diff]: ...
    @property
    def session_ownership(self) -> Optional[str]: ...
    @property
    def ctask_version(self) -> Optional[str]: ...

@final
class Lease:
    @property
    def session_id(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def hostname(self) -> str: ...
    @property
    def user(self) -> Optional[str]: ...
    @property
    def agent(self) -> Optional[str]: ...
    @property
    def mode(self) -> Literal["direct", "persistent"]: ...
    @property
    def started_at(self) -> Optional[datetime]: ...
    @property
    def heartbeat_at(self) -> Optional[datetime]: ...
    @property
    def heartbeat_seconds(self) -> Optional[int]: ...
    @property
    def ctask_version(self) -> Optional[str]: ...
    @property
    def tmux_session(self) -> Optional[str]: ...

@final
class Status:
    @property
    def state(self) -> Literal["none", "active", "stale", "unknown"]: ...
    @property
    def mode(self) -> Optional[Literal["direct", "persistent"]]: ...
    @property
    def lease(self) -> Optional[Lease]: ...
    @property
    def heartbeat_age_s(self) -> Optional[int]: ...
    @property
    def tmux_session(self) -> Optional[str]: ...
    @property
    def attached(self) -> Optional[bool]: ...
    @property
    def diagnostic(self) -> Optional[str]: ...
    @property
    def last_summary(self) -> Optional[Summary]: ...

@final
class RunResult:
    @property
    def session_id(self) -> str: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def summary(self) -> Summary: ...
    @property
    def workspace_removed(self) -> bool: ...

@final
class PersistentSession:
    @property
    def session_id(self) -> str: ...
    @property
    def workspace(self) -> Path: ...
    @property
    def tmux_session(self) -> str: ...
    @property
    def supervisor_pid(self) -> int: ...
    @property
    def adopted(self) -> bool: ...
    @property
    def warnings(self) -> list[str]: ...
    def attach_command(self) -> list[str]: ...

@final
class DiffReport:
    @property
    def baseline(self) -> Literal["last_session", "none"]: ...
    @property
    def baseline_session_id(self) -> Optional[str]: ...
    @property
    def since(self) -> Optional[datetime]: ...
    @property
    def changes(self) -> Diff: ...

@final
class ManifestEntry:
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime(self) -> datetime: ...
    @property
    def mtime_ns(self) -> int: ...
    @property
    def sha256(self) -> Optional[str]: ...
    @property
    def kind(self) -> Literal["file", "symlink", "other"]: ...
    @property
    def target(self) -> Optional[str]: ...
    @property
    def mode(self) -> Optional[int]: ...

@final
class Manifest:
    @property
    def captured_at(self) -> datetime: ...
    @property
    def entries(self) -> list[ManifestEntry]: ...
    def paths(self) -> list[str]: ...
    def get(self, path: str) -> Optional[ManifestEntry]: ...
    def __contains__(self, path: str, /) -> bool: ...
    def __len__(self) -> int: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> Manifest: ...

@final
class Workspace:
    @staticmethod
    def create(
        title: str,
        *,
        category: Optional[str] = None,
        project: bool = False,
        agent: Optional[str] = None,
        root: Optional[_StrPath] = None,
    ) -> Workspace: ...
    @staticmethod
    def open(path: _StrPath) -> Workspace: ...
    def session_status(self) -> Status: ...
    @property
    def path(self) -> Path: ...
    @property
    def dir_name(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def kind(self) -> Literal["task", "project"]: ...
    @property
    def status(self) -> Literal["active", "archived"]: ...
    @property
    def created_at(self) -> Optional[datetime]: ...
    @property
    def updated_at(self) -> Optional[datetime]: ...
    @property
    def launch_dir(self) -> Optional[str]: ...
    @property
    def agent(self) -> Optional[str]: ...
    @property
    def broken(self) -> bool: ...
    @property
    def error(self) -> Optional[str]: ...
    @property
    def session_state(self) -> Optional[Literal["active", "stale", "unknown"]]: ...
    @property
    def last_ended_at(self) -> Optional[str]: ...
    def __fspath__(self) -> str: ...

# --- the session ----------------------------------------------------------------------

@final
class Session:
    def __new__(
        cls,
        path: _StrPath,
        *,
        agent: str = "python",
        on_active: Literal["error", "coexist"] = "error",
        launch_dir: Optional[_StrPath] = None,
        heartbeat: bool = True,
        env: Optional[dict[str, str]] = None,
    ) -> Session: ...
    def begin(self) -> Session: ...
    def __enter__(self) -> Session: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool: ...
    def __aenter__(self) -> Awaitable[Session]: ...
    def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> Awaitable[bool]: ...
    def end(self, exit_code: Optional[int] = None) -> Summary: ...
    def heartbeat(self) -> None: ...
    @property
    def path(self) -> Path: ...
    @property
    def agent(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def workspace(self) -> Path: ...
    @property
    def launch_dir(self) -> Path: ...
    @property
    def env(self) -> dict[str, str]: ...
    @property
    def owns_lease(self) -> bool: ...
    @property
    def owner(self) -> Optional[Lease]: ...
    @property
    def outside_changes(self) -> Optional[Diff]: ...
    @property
    def last_summary(self) -> Optional[Summary]: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def exit_code(self) -> Optional[int]: ...
    @exit_code.setter
    def exit_code(self, value: Optional[int]) -> None: ...
    @property
    def summary(self) -> Optional[Summary]: ...
    @property
    def state(self) -> Literal["new", "active", "ended"]: ...

# --- functions ------------------------------------------------------------------------

@overload
def run(
    path: _StrPath,
    argv: Sequence[str],
    *,
    mode: Literal["direct"] = "direct",
    agent: Optional[str] = None,
    on_active: Literal["error", "coexist"] = "error",
    launch_dir: Optional[_StrPath] = None,
    heartbeat: bool = True,
    env: Optional[dict[str, str]] = None,
) -> RunResult: ...
@overload
def run(
    path: _StrPath,
    argv: Sequence[str],
    *,
    mode: Literal["persistent"],
    agent: Optional[str] = None,
    on_active: Literal["error"] = "error",
    launch_dir: Optional[_StrPath] = None,
    heartbeat: Literal[True] = True,
    env: Optional[dict[str, str]] = None,
) -> PersistentSession: ...
@overload
def run(
    path: _StrPath,
    argv: Sequence[str],
    *,
    mode: Literal["direct", "persistent"],
    agent: Optional[str] = None,
    on_active: Literal["error", "coexist"] = "error",
    launch_dir: Optional[_StrPath] = None,
    heartbeat: bool = True,
    env: Optional[dict[str, str]] = None,
) -> Union[RunResult, PersistentSession]: ...
def status(path: _StrPath, *, stale_after: Optional[int] = None) -> Status: ...
def capture_manifest(path: _StrPath, *, respect_ignore: bool = True) -> Manifest: ...
def diff(a: Manifest, b: Manifest) -> Diff: ...
def diff_since_last(path: _StrPath, *, respect_ignore: bool = True) -> DiffReport: ...
def resolve(
    query: str, *, root: Optional[_StrPath] = None, include_archived: bool = False
) -> Workspace: ...
def list_workspaces(
    *,
    root: Optional[_StrPath] = None,
    include_archived: bool = False,
    category: Optional[str] = None,
    kind: Optional[Literal["task", "project"]] = None,
    limit: Optional[int] = None,
) -> list[Workspace]: ...
def cli_main(argv: Sequence[str]) -> int: ...
