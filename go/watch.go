package ctask

/*
#include <stdlib.h>
#include "ctask.h"
*/
import "C"

import (
	"context"
	"encoding/json"
)

// WatchOptions says what Watch follows. With no Paths it follows every workspace under
// the task root and the project root (Roots overrides them).
type WatchOptions struct {
	// Paths are workspace directories or roots to watch.
	Paths []string `json:"paths,omitempty"`
	// Since (RFC 3339) replays the log lines dated at or after it first.
	Since string `json:"since,omitempty"`
	// Poll polls instead of using inotify.
	Poll bool `json:"poll,omitempty"`
	// PollIntervalMs is the time between two looks when polling (default 500).
	PollIntervalMs int `json:"poll_interval_ms,omitempty"`
	Roots
}

// Event is one live event (docs/json.md, "Live events"): a log line (TS and Fields set)
// or a change of a workspace (At set): created, archived, restored, deleted.
type Event struct {
	Event     string            `json:"event"`
	TS        string            `json:"ts,omitempty"`
	At        string            `json:"at,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
	Workspace string            `json:"workspace"`
	Slug      string            `json:"slug"`
}

// watchSlice is how long one wait in C lasts before the context is looked at again.
const watchSlice = 200

// Watch starts watching and returns a channel of events. The channel is closed, and the
// watcher freed, once ctx is done (or if reading events fails). Events of one workspace
// arrive in the order of its log. An error is returned only when the watch cannot start.
func Watch(ctx context.Context, opts WatchOptions) (<-chan Event, error) {
	text, err := optionsJSON(opts)
	if err != nil {
		return nil, err
	}
	defer free(text)
	var w *C.ctask_watch
	if err := call(func() C.enum_ctask_status { return C.ctask_watch_open(text, &w) }); err != nil {
		return nil, err
	}
	ch := make(chan Event)
	go func() {
		defer close(ch)
		// The watcher is used by this goroutine only, as the C API requires.
		defer C.ctask_watch_free(w)
		for ctx.Err() == nil {
			var out *C.char
			if C.ctask_watch_next(w, watchSlice, &out) != C.CTASK_OK {
				return
			}
			if out == nil {
				continue
			}
			var e Event
			raw := C.GoString(out)
			C.ctask_string_free(out)
			if json.Unmarshal([]byte(raw), &e) != nil {
				continue
			}
			select {
			case ch <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
