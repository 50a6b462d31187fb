package ctask

/*
#include <stdlib.h>
#include "ctask.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"time"
)

// OnActive says what Begin does when a live session already owns the workspace.
type OnActive string

const (
	// OnActiveError fails with an *ActiveSessionError (the default).
	OnActiveError OnActive = "error"
	// OnActiveCoexist shares the workspace without a lease.
	OnActiveCoexist OnActive = "coexist"
)

// Options says how to begin a session. The zero value is a sensible default.
type Options struct {
	// Agent is the label recorded in the lease and the summary (default "go").
	Agent string
	// OnActive is the policy toward a live owner (default OnActiveError).
	OnActive OnActive
	// Force never blocks: a live owner → coexist, a dead one → recovered.
	Force bool
	// LaunchDir is the launch directory relative to the workspace (default: task.yaml's).
	LaunchDir string
	// NoHeartbeat turns off the background heartbeat; call Heartbeat yourself then.
	NoHeartbeat bool
	// HeartbeatSeconds and StaleAfterSeconds override the configuration when non-zero.
	HeartbeatSeconds  int
	StaleAfterSeconds int
	// IncludeIgnored records files that .gitignore / .ctaskignore leave out.
	IncludeIgnored bool
	// Env holds extra variables for the agent, on top of the CTASK_* ones.
	Env map[string]string
	// Mode is ModeDirect (the default: the caller runs the agent and ends the session) or
	// ModePersistent: the agent Argv runs in tmux under a detached supervisor, which owns
	// the session and ends it when the agent exits (as `ctask resume --detach`).
	Mode string
	// Argv is the agent's command in persistent mode (required there, refused in direct
	// mode); Argv[0] is looked up on PATH.
	Argv []string
	// Supervisor is the ctask executable that supervises a persistent session (a path or
	// a name on PATH; default "ctask" on PATH).
	Supervisor string
}

// Session modes (Options.Mode, SessionInfo.Mode).
const (
	ModeDirect     = "direct"
	ModePersistent = "persistent"
)

// beginOptions is the options JSON of ctask_session_begin.
type beginOptions struct {
	Agent             string            `json:"agent,omitempty"`
	OnActive          OnActive          `json:"on_active,omitempty"`
	Force             bool              `json:"force,omitempty"`
	LaunchDir         string            `json:"launch_dir,omitempty"`
	Heartbeat         *bool             `json:"heartbeat,omitempty"`
	HeartbeatSeconds  int               `json:"heartbeat_seconds,omitempty"`
	StaleAfterSeconds int               `json:"stale_after_seconds,omitempty"`
	RespectIgnore     *bool             `json:"respect_ignore,omitempty"`
	Env               map[string]string `json:"env,omitempty"`
	Mode              string            `json:"mode,omitempty"`
	Argv              []string          `json:"argv,omitempty"`
	Supervisor        string            `json:"supervisor,omitempty"`
}

// Recovered tells what Begin did about a dead previous owner.
type Recovered struct {
	SessionID string   `json:"session_id"`
	Outcome   string   `json:"outcome"`
	Summary   *Summary `json:"summary,omitempty"`
}

// SessionInfo describes a begun session (ctask_session_info_json).
type SessionInfo struct {
	SessionID      string            `json:"session_id"`
	Workspace      string            `json:"workspace"`
	LaunchDir      string            `json:"launch_dir"`
	Role           string            `json:"role"` // owner, coexist, or supervised (persistent)
	Mode           string            `json:"mode"`
	StartedAt      time.Time         `json:"started_at"`
	Ended          bool              `json:"ended"`
	Env            map[string]string `json:"env"`
	OutsideChanges *Diff             `json:"outside_changes,omitempty"`
	LastSummary    *Summary          `json:"last_summary,omitempty"`
	Owner          *Lease            `json:"owner,omitempty"`
	Recovered      *Recovered        `json:"recovered,omitempty"`
	Warnings       []string          `json:"warnings"`
	// Persistent sessions only: the tmux session, the supervisor's pid and executable,
	// and whether a dead owner's still-running tmux session was adopted.
	TmuxSession   string `json:"tmux_session,omitempty"`
	SupervisorPID int    `json:"supervisor_pid,omitempty"`
	Supervisor    string `json:"supervisor,omitempty"`
	Adopted       bool   `json:"adopted,omitempty"`
}

// Session is a begun session. Its methods are safe for concurrent use.
type Session struct {
	mu      sync.Mutex
	handle  *C.ctask_session
	info    SessionInfo
	summary *Summary
}

// Begin begins a session in the workspace directory dir.
func Begin(dir string, opts Options) (*Session, error) {
	agent := opts.Agent
	if agent == "" && opts.Mode != ModePersistent {
		agent = "go" // persistent mode: the C default, Argv[0]
	}
	// Only non-defaults are sent: persistent mode refuses heartbeat and respect_ignore
	// set to false (its supervisor always heartbeats).
	var heartbeat, respectIgnore *bool
	no := false
	if opts.NoHeartbeat {
		heartbeat = &no
	}
	if opts.IncludeIgnored {
		respectIgnore = &no
	}
	o, err := optionsJSON(beginOptions{
		Agent:             agent,
		OnActive:          opts.OnActive,
		Force:             opts.Force,
		LaunchDir:         opts.LaunchDir,
		Heartbeat:         heartbeat,
		HeartbeatSeconds:  opts.HeartbeatSeconds,
		StaleAfterSeconds: opts.StaleAfterSeconds,
		RespectIgnore:     respectIgnore,
		Env:               opts.Env,
		Mode:              opts.Mode,
		Argv:              opts.Argv,
		Supervisor:        opts.Supervisor,
	})
	if err != nil {
		return nil, err
	}
	defer free(o)
	d, err := cString(dir, "dir")
	if err != nil {
		return nil, err
	}
	defer free(d)
	var h *C.ctask_session
	if err := call(func() C.enum_ctask_status { return C.ctask_session_begin(d, o, &h) }); err != nil {
		return nil, err
	}
	s := &Session{handle: h}
	// Safety net: a session dropped without Close is ended as abandoned.
	runtime.SetFinalizer(s, (*Session).release)
	info, err := s.Info()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.info = info
	return s, nil
}

// ID is the session id.
func (s *Session) ID() string { return s.info.SessionID }

// LaunchDir is the absolute directory the agent should start in.
func (s *Session) LaunchDir() string { return s.info.LaunchDir }

// Env returns the variables to add to the agent's environment (CTASK_* and Options.Env).
func (s *Session) Env() map[string]string {
	env := make(map[string]string, len(s.info.Env))
	for k, v := range s.info.Env {
		env[k] = v
	}
	return env
}

// Info describes the session now.
func (s *Session) Info() (SessionInfo, error) {
	var info SessionInfo
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handle == nil {
		return info, ErrClosed
	}
	var out *C.char
	h := s.handle
	if err := call(func() C.enum_ctask_status { return C.ctask_session_info_json(h, &out) }); err != nil {
		return info, err
	}
	return info, takeJSON(out, &info)
}

// Persistent tells whether the session is a persistent one, owned by its supervisor.
func (s *Session) Persistent() bool { return s.info.Mode == ModePersistent }

// Heartbeat refreshes the lease now (for sessions begun with NoHeartbeat). For a
// persistent session it does nothing: the supervisor heartbeats.
func (s *Session) Heartbeat() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handle == nil {
		return ErrClosed
	}
	h := s.handle
	return call(func() C.enum_ctask_status { return C.ctask_session_heartbeat(h) })
}

// End ends the session with the agent's exit code and returns its summary. Calling it
// again returns the same summary; after Close without End it returns ErrClosed.
//
// A persistent session is not ended by its caller: End changes nothing and returns
// ErrSupervised; the supervisor writes the summary when the agent exits (follow it with
// Status: its LastSummary then has this session's id).
func (s *Session) End(exitCode int) (Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.summary != nil {
		return *s.summary, nil
	}
	if s.handle == nil {
		return Summary{}, ErrClosed
	}
	var out *C.char
	h := s.handle
	if err := call(func() C.enum_ctask_status { return C.ctask_session_end(h, C.int(exitCode), &out) }); err != nil {
		return Summary{}, err
	}
	if out == nil && s.info.Mode == ModePersistent {
		return Summary{}, ErrSupervised
	}
	var sum Summary
	if err := takeJSON(out, &sum); err != nil {
		return Summary{}, err
	}
	s.summary = &sum
	return sum, nil
}

// Close releases the session; one that was not ended is ended as abandoned (a persistent
// session goes on under its supervisor). Calling it again does nothing.
func (s *Session) Close() error {
	runtime.SetFinalizer(s, nil)
	s.release()
	return nil
}

func (s *Session) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handle != nil {
		C.ctask_session_free(s.handle)
		s.handle = nil
	}
}
