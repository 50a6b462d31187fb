package ctask

/*
#include <ctask.h>
*/
import "C"

import "time"

// StateChange is what SetState wrote into the session's lease.
type StateChange struct {
	SessionID string    `json:"session_id"`
	State     string    `json:"state"`
	At        time.Time `json:"at"`
	Message   string    `json:"message,omitempty"`
}

// StateOptions are the optional parts of SetState.
type StateOptions struct {
	// Message is one line of plain text (at most 1024 bytes, no control characters).
	Message string `json:"message,omitempty"`
	// SessionID is the caller's CTASK_SESSION_ID; without it the session's owner must be
	// alive.
	SessionID string `json:"session_id,omitempty"`
}

type stateOptions struct {
	State string `json:"state"`
	StateOptions
}

// SetState sets the agent state ("working", "waiting", "idle" or "done") of the session
// in the workspace at dir and logs it. Outside a session it fails with ErrInvalidArgument
// and writes nothing.
func SetState(dir, state string, o StateOptions) (StateChange, error) {
	var ch StateChange
	d, err := cString(dir, "dir")
	if err != nil {
		return ch, err
	}
	defer free(d)
	opts, err := optionsJSON(stateOptions{State: state, StateOptions: o})
	if err != nil {
		return ch, err
	}
	defer free(opts)
	var out *C.char
	if err := call(func() C.enum_ctask_status { return C.ctask_set_state(d, opts, &out) }); err != nil {
		return ch, err
	}
	return ch, takeJSON(out, &ch)
}
