package ctask

/*
#include <stdlib.h>
#include "ctask.h"
*/
import "C"

// UndoOptions says what Undo gives back (ctask_undo's options, docs/json.md).
type UndoOptions struct {
	// SessionID names the session to undo; empty: the last one that ended.
	SessionID string `json:"session_id,omitempty"`
	// Outside gives back the changes made before it, while nobody was there.
	Outside bool `json:"outside,omitempty"`
	// Paths limits the undo to these workspace-relative paths.
	Paths []string `json:"paths,omitempty"`
	// DryRun writes nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Force overwrites files changed since (their content is kept first).
	Force bool `json:"force,omitempty"`
}

// UndoItem is one path of an undo.
type UndoItem struct {
	Path string `json:"path"`
	// Action is "restore", "remove" or "recreate".
	Action string `json:"action"`
	// Status is "ok", "unchanged", "conflict" or "not_restorable".
	Status          string `json:"status"`
	Reason          string `json:"reason,omitempty"`
	OverwrittenKept bool   `json:"overwritten_kept,omitempty"`
}

// UndoResult is what Undo did (an UndoReport, docs/json.md).
type UndoResult struct {
	Target  string `json:"target"`
	Outside bool   `json:"outside"`
	DryRun  bool   `json:"dry_run"`
	// Applied is false in a dry run and when the undo was refused (nothing written).
	Applied   bool       `json:"applied"`
	SessionID string     `json:"session_id,omitempty"`
	Items     []UndoItem `json:"items"`
	Warnings  []string   `json:"warnings"`
}

// ChangeCounts counts a session's changed paths.
type ChangeCounts struct {
	Added    int `json:"added"`
	Modified int `json:"modified"`
	Deleted  int `json:"deleted"`
}

// HistoryEntry is one recorded session.
type HistoryEntry struct {
	SessionID string `json:"session_id"`
	// Kind is "session" or "undo".
	Kind              string       `json:"kind"`
	Agent             string       `json:"agent"`
	StartedAt         string       `json:"started_at,omitempty"`
	EndedAt           string       `json:"ended_at,omitempty"`
	Changes           ChangeCounts `json:"changes"`
	Outside           ChangeCounts `json:"outside"`
	Restorable        bool         `json:"restorable"`
	OutsideRestorable bool         `json:"outside_restorable"`
	NotRestorable     []string     `json:"not_restorable"`
}

// History lists the recorded sessions of a workspace, newest first (ctask_history).
type History struct {
	Sessions []HistoryEntry `json:"sessions"`
	// Warnings name history records that could not be read.
	Warnings []string `json:"warnings"`
}

// Undo gives back the changes of a recorded session of the workspace at dir, all or
// nothing, as a session of its own (ctask_undo). A refused undo is no error: Applied is
// false and the blocking paths are listed. A live owner is an *ActiveSessionError.
func Undo(dir string, opts UndoOptions) (UndoResult, error) {
	var r UndoResult
	d, err := cString(dir, "dir")
	if err != nil {
		return r, err
	}
	defer free(d)
	o, err := optionsJSON(opts)
	if err != nil {
		return r, err
	}
	defer free(o)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_undo(d, o, &out) }); err != nil {
		return r, err
	}
	return r, takeJSON(out, &r)
}

// SessionHistory lists the recorded sessions of the workspace at dir (ctask_history).
// It never changes anything.
func SessionHistory(dir string) (History, error) {
	var h History
	d, err := cString(dir, "dir")
	if err != nil {
		return h, err
	}
	defer free(d)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_history(d, nil, &out) }); err != nil {
		return h, err
	}
	return h, takeJSON(out, &h)
}
