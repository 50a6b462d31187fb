package ctask

/*
#include "ctask.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Code is a status code of the C API (ctask_status).
type Code int

// The status codes, one per error kind of ctask plus those of the C boundary.
const (
	CodeOK              Code = C.CTASK_OK
	CodeNotFound        Code = C.CTASK_ERR_NOT_FOUND
	CodeAmbiguous       Code = C.CTASK_ERR_AMBIGUOUS
	CodeActiveSession   Code = C.CTASK_ERR_ACTIVE_SESSION
	CodeLockTimeout     Code = C.CTASK_ERR_LOCK_TIMEOUT
	CodePathSecurity    Code = C.CTASK_ERR_PATH_SECURITY
	CodeAgentNotFound   Code = C.CTASK_ERR_AGENT_NOT_FOUND
	CodeBadFormat       Code = C.CTASK_ERR_BAD_FORMAT
	CodeTmux            Code = C.CTASK_ERR_TMUX
	CodeInvalidArgument Code = C.CTASK_ERR_INVALID_ARGUMENT
	CodeIO              Code = C.CTASK_ERR_IO
	CodeNullArgument    Code = C.CTASK_ERR_NULL_ARGUMENT
	CodeInvalidUTF8     Code = C.CTASK_ERR_INVALID_UTF8
	CodePanic           Code = C.CTASK_ERR_PANIC
	CodeHook            Code = C.CTASK_ERR_HOOK
)

var codeNames = map[Code]string{
	CodeOK:              "ok",
	CodeNotFound:        "not found",
	CodeAmbiguous:       "ambiguous query",
	CodeActiveSession:   "active session",
	CodeLockTimeout:     "lock timeout",
	CodePathSecurity:    "unsafe path",
	CodeAgentNotFound:   "agent not found",
	CodeBadFormat:       "bad format",
	CodeTmux:            "tmux",
	CodeInvalidArgument: "invalid argument",
	CodeIO:              "I/O error",
	CodeNullArgument:    "NULL argument",
	CodeInvalidUTF8:     "invalid UTF-8",
	CodePanic:           "internal error",
	CodeHook:            "hook failed",
}

func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("ctask status %d", int(c))
}

// Error is a failure reported by libctask. Path, Detail, Query, Command and Argument are
// filled in when the error kind carries them.
type Error struct {
	Code     Code
	Message  string
	Path     string // the file or value at fault (bad format, unsafe path, I/O, lock timeout)
	Detail   string // what is wrong with it
	Query    string // the workspace query (not found, ambiguous)
	Command  string // the agent command (agent not found)
	Argument string // the C argument at fault (NULL, UTF-8 and options errors)
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "ctask: " + e.Code.String()
	}
	return "ctask: " + e.Message
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ctask.ErrNotFound) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is, one per code.
var (
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrAmbiguous       = &Error{Code: CodeAmbiguous}
	ErrActiveSession   = &Error{Code: CodeActiveSession}
	ErrLockTimeout     = &Error{Code: CodeLockTimeout}
	ErrPathSecurity    = &Error{Code: CodePathSecurity}
	ErrAgentNotFound   = &Error{Code: CodeAgentNotFound}
	ErrBadFormat       = &Error{Code: CodeBadFormat}
	ErrTmux            = &Error{Code: CodeTmux}
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	ErrIO              = &Error{Code: CodeIO}
	ErrNullArgument    = &Error{Code: CodeNullArgument}
	ErrInvalidUTF8     = &Error{Code: CodeInvalidUTF8}
	ErrPanic           = &Error{Code: CodePanic}
	ErrHook            = &Error{Code: CodeHook}
)

// ErrClosed is returned by the methods of a Session after Close.
var ErrClosed = errors.New("ctask: session is closed")

// ErrSupervised is returned by End of a persistent session: its supervisor ends it when
// the agent exits.
var ErrSupervised = errors.New("ctask: a persistent session is ended by its supervisor when the agent exits")

// ActiveSessionError is returned by Begin when a live session owns the workspace and the
// options do not allow coexisting. Owner is that session's lease.
type ActiveSessionError struct {
	Owner Lease
	Err   *Error
}

func (e *ActiveSessionError) Error() string { return e.Err.Error() }

// Unwrap gives the underlying *Error (Code CodeActiveSession).
func (e *ActiveSessionError) Unwrap() error { return e.Err }

// AmbiguousError is returned by Resolve when a query matches several workspaces.
type AmbiguousError struct {
	Query      string
	Candidates []string
	Err        *Error
}

func (e *AmbiguousError) Error() string { return e.Err.Error() }

// Unwrap gives the underlying *Error (Code CodeAmbiguous).
func (e *AmbiguousError) Unwrap() error { return e.Err }

// errorDetail is the JSON of ctask_last_error_json.
type errorDetail struct {
	Status     int      `json:"status"`
	Message    string   `json:"message"`
	Path       string   `json:"path"`
	Detail     string   `json:"detail"`
	Query      string   `json:"query"`
	Command    string   `json:"command"`
	Argument   string   `json:"argument"`
	Candidates []string `json:"candidates"`
	Owner      *Lease   `json:"owner"`
}

// lastError builds the error for status st from this thread's last failure. The caller
// must still be on the OS thread of the failing call (see call).
func lastError(st C.enum_ctask_status) error {
	base := &Error{Code: Code(st), Message: C.GoString(C.ctask_last_error())}
	var out *C.char
	if C.ctask_last_error_json(&out) != C.CTASK_OK {
		return base
	}
	text := C.GoString(out)
	C.ctask_string_free(out)
	var d errorDetail
	if err := json.Unmarshal([]byte(text), &d); err != nil || Code(d.Status) != base.Code {
		return base
	}
	base.Path, base.Detail, base.Query = d.Path, d.Detail, d.Query
	base.Command, base.Argument = d.Command, d.Argument
	switch {
	case base.Code == CodeActiveSession && d.Owner != nil:
		return &ActiveSessionError{Owner: *d.Owner, Err: base}
	case base.Code == CodeAmbiguous:
		return &AmbiguousError{Query: d.Query, Candidates: d.Candidates, Err: base}
	}
	return base
}
