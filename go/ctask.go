package ctask

/*
#cgo pkg-config: ctask
#include <stdlib.h>
#include "ctask.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unsafe"
)

// Version is the version of the loaded libctask ("MAJOR.MINOR.PATCH").
func Version() string { return C.GoString(C.ctask_version()) }

// ABIVersion is the C ABI version of the loaded libctask; it equals HeaderABIVersion
// unless the program runs against an incompatible library.
func ABIVersion() uint32 { return uint32(C.ctask_abi_version()) }

// HeaderABIVersion is the C ABI version this package was compiled against.
const HeaderABIVersion = uint32(C.CTASK_ABI_VERSION)

// call runs one C function and turns a failure into an error. The OS thread is locked for
// the call and the error lookup: libctask keeps the last failure per thread, and a
// goroutine may otherwise move between threads in between.
func call(f func() C.enum_ctask_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := f(); st != C.CTASK_OK {
		return lastError(st)
	}
	return nil
}

// cString converts s for C; the caller frees the result with C.free. A NUL byte would cut
// the string short in C, so it is refused here.
func cString(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{
			Code:     CodeInvalidArgument,
			Message:  fmt.Sprintf("%s contains a NUL byte", what),
			Argument: what,
		}
	}
	return C.CString(s), nil
}

// optionsJSON marshals v (nil gives C's NULL: all defaults).
func optionsJSON(v interface{}) (*C.char, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return cString(string(b), "options")
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// takeJSON decodes a string returned by ctask into v and frees it.
func takeJSON(p *C.char, v interface{}) error {
	if p == nil {
		return fmt.Errorf("ctask: no result returned")
	}
	text := C.GoString(p)
	C.ctask_string_free(p)
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return fmt.Errorf("ctask: cannot decode result: %w", err)
	}
	return nil
}

// Rename is a path that moved: deleted at From, added at To with the same content.
type Rename struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Diff lists what changed between two manifests, each list sorted by path.
type Diff struct {
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Deleted  []string `json:"deleted"`
	Renamed  []Rename `json:"renamed"`
}

// Lease is the lease of a session (.ctask/session.json): who owns a workspace.
type Lease struct {
	SessionID        string    `json:"session_id"`
	PID              int       `json:"pid"`
	Hostname         string    `json:"hostname"`
	User             string    `json:"user,omitempty"`
	Agent            string    `json:"agent,omitempty"`
	Mode             string    `json:"mode,omitempty"`
	StartedAt        time.Time `json:"started_at,omitempty"`
	HeartbeatAt      time.Time `json:"heartbeat_at,omitempty"`
	HeartbeatSeconds int       `json:"heartbeat_seconds,omitempty"`
	CtaskVersion     string    `json:"ctask_version,omitempty"`
	TmuxSession      string    `json:"tmux_session,omitempty"`
}

// Summary is a session's hand-off summary (last-session-summary.json without its end
// manifest).
type Summary struct {
	SessionID       string    `json:"session_id"`
	Hostname        string    `json:"hostname"`
	Agent           string    `json:"agent"`
	Mode            string    `json:"mode"`
	StartedAt       time.Time `json:"started_at"`
	EndedAt         time.Time `json:"ended_at"`
	DurationSeconds int64     `json:"duration_seconds"`
	FilesAdded      []string  `json:"files_added"`
	FilesModified   []string  `json:"files_modified"`
	FilesDeleted    []string  `json:"files_deleted"`
	FilesRenamed    []Rename  `json:"files_renamed"`
	NotesUpdated    bool      `json:"notes_updated"`
	EndReason       string    `json:"end_reason"`
	DetectedVia     string    `json:"detected_via"`
	ExitCode        *int      `json:"exit_code,omitempty"`
	OutsideChanges  *Diff     `json:"outside_changes,omitempty"`
	CtaskVersion    string    `json:"ctask_version,omitempty"`
}

// StatusReport tells who is in a workspace now.
type StatusReport struct {
	State         string   `json:"state"` // none, active, stale or unknown
	Mode          string   `json:"mode,omitempty"`
	Lease         *Lease   `json:"lease,omitempty"`
	HeartbeatAgeS *int64   `json:"heartbeat_age_s,omitempty"`
	Diagnostic    string   `json:"diagnostic,omitempty"`
	LastSummary   *Summary `json:"last_summary,omitempty"`
	// Persistent sessions: the tmux session and whether a client is attached to it.
	TmuxSession string `json:"tmux_session,omitempty"`
	Attached    *bool  `json:"attached,omitempty"`
	// What the agent says it is doing (working, waiting, idle, done; see SetState).
	AgentState     string     `json:"agent_state,omitempty"`
	AgentStateAt   *time.Time `json:"agent_state_at,omitempty"`
	AgentStateAgeS *int64     `json:"agent_state_age_s,omitempty"`
	AgentMessage   string     `json:"agent_message,omitempty"`
}

// Workspace describes one workspace (the WorkspaceInfo JSON of docs/json.md).
type Workspace struct {
	Path      string `json:"path"`
	DirName   string `json:"dir_name"`
	Slug      string `json:"slug"`
	Title     string `json:"title"`
	Category  string `json:"category"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
	LaunchDir string `json:"launch_dir,omitempty"`
	Agent     string `json:"agent,omitempty"`
	Broken    bool   `json:"broken,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Roots overrides where workspaces live (CTASK_ROOT, CTASK_PROJECT_ROOT, config file).
type Roots struct {
	Root        string `json:"root,omitempty"`
	ProjectRoot string `json:"project_root,omitempty"`
}

// NewWorkspace describes a workspace to create.
type NewWorkspace struct {
	Title    string `json:"title,omitempty"`
	Category string `json:"category,omitempty"`
	Project  bool   `json:"project,omitempty"`
	Agent    string `json:"agent,omitempty"` // claude, opencode, or a command
	Roots
}

// CreateWorkspace creates a workspace and describes it.
func CreateWorkspace(w NewWorkspace) (Workspace, error) {
	var ws Workspace
	opts, err := optionsJSON(w)
	if err != nil {
		return ws, err
	}
	defer free(opts)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_workspace_create(opts, &out) }); err != nil {
		return ws, err
	}
	return ws, takeJSON(out, &ws)
}

type lookupOptions struct {
	All bool `json:"all,omitempty"`
	Roots
}

// Resolve finds the one workspace a query names (directory name, slug, unique part of a
// slug, or a path). Several matches give an *AmbiguousError.
func Resolve(query string, roots Roots, includeArchived bool) (Workspace, error) {
	var ws Workspace
	q, err := cString(query, "query")
	if err != nil {
		return ws, err
	}
	defer free(q)
	opts, err := optionsJSON(lookupOptions{All: includeArchived, Roots: roots})
	if err != nil {
		return ws, err
	}
	defer free(opts)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_workspace_resolve(q, opts, &out) }); err != nil {
		return ws, err
	}
	return ws, takeJSON(out, &ws)
}

// List returns the workspaces under both roots, most recently updated first.
func List(roots Roots, includeArchived bool) ([]Workspace, error) {
	var list []Workspace
	opts, err := optionsJSON(lookupOptions{All: includeArchived, Roots: roots})
	if err != nil {
		return nil, err
	}
	defer free(opts)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_workspace_list(opts, &out) }); err != nil {
		return nil, err
	}
	return list, takeJSON(out, &list)
}

// Status reports who is in the workspace at dir. It never changes anything.
func Status(dir string) (StatusReport, error) {
	var st StatusReport
	d, err := cString(dir, "dir")
	if err != nil {
		return st, err
	}
	defer free(d)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_workspace_status(d, nil, &out) }); err != nil {
		return st, err
	}
	return st, takeJSON(out, &st)
}

// Manifest is a snapshot of a workspace's files, as ctask_manifest_capture returns it.
// Files are kept as raw JSON so that a manifest passes back to DiffManifests unchanged.
type Manifest struct {
	CapturedAt string            `json:"captured_at,omitempty"`
	Files      []json.RawMessage `json:"files"`
}

// CaptureManifest snapshots the workspace at dir.
func CaptureManifest(dir string) (Manifest, error) {
	var m Manifest
	d, err := cString(dir, "dir")
	if err != nil {
		return m, err
	}
	defer free(d)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_manifest_capture(d, nil, &out) }); err != nil {
		return m, err
	}
	return m, takeJSON(out, &m)
}

// DiffManifests compares two manifests.
func DiffManifests(before, after Manifest) (Diff, error) {
	var d Diff
	for _, m := range []*Manifest{&before, &after} {
		if m.Files == nil {
			m.Files = []json.RawMessage{}
		}
	}
	b, err := optionsJSON(before)
	if err != nil {
		return d, err
	}
	defer free(b)
	a, err := optionsJSON(after)
	if err != nil {
		return d, err
	}
	defer free(a)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_diff(b, a, &out) }); err != nil {
		return d, err
	}
	return d, takeJSON(out, &d)
}

// Changes is what changed in a workspace since its last session ended
// (ctask_workspace_diff, as `ctask diff --json`).
type Changes struct {
	// Baseline is "last_session", or "none" when no session has ended yet.
	Baseline          string `json:"baseline"`
	BaselineSessionID string `json:"baseline_session_id,omitempty"`
	Since             string `json:"since,omitempty"`
	Diff
}

// WorkspaceChanges reports what changed in the workspace at dir since its last session
// ended. It never changes anything.
func WorkspaceChanges(dir string) (Changes, error) {
	var c Changes
	d, err := cString(dir, "dir")
	if err != nil {
		return c, err
	}
	defer free(d)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_workspace_diff(d, nil, &out) }); err != nil {
		return c, err
	}
	return c, takeJSON(out, &c)
}
