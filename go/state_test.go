package ctask_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"example.invalid/ctask/go"
)

func TestSetState(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Go state")

	if _, err := ctask.SetState(ws.Path, "working", ctask.StateOptions{}); !errors.Is(err, ctask.ErrInvalidArgument) {
		t.Fatalf("SetState without a session: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ws.Path, ".ctask", "session.json")); !os.IsNotExist(err) {
		t.Fatalf("a refused SetState left a lease: %v", err)
	}

	s, err := ctask.Begin(ws.Path, ctask.Options{Agent: "go-state"})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer s.Close()
	ch, err := ctask.SetState(ws.Path, "waiting", ctask.StateOptions{Message: "Run the migration?", SessionID: s.ID()})
	if err != nil || ch.SessionID != s.ID() || ch.State != "waiting" || ch.At.IsZero() {
		t.Fatalf("SetState = %+v, %v", ch, err)
	}
	st, err := ctask.Status(ws.Path)
	if err != nil || st.AgentState != "waiting" || st.AgentMessage != "Run the migration?" ||
		st.AgentStateAt == nil || st.AgentStateAgeS == nil {
		t.Errorf("Status = %+v, %v", st, err)
	}
	if _, err := ctask.SetState(ws.Path, "asleep", ctask.StateOptions{}); !errors.Is(err, ctask.ErrInvalidArgument) {
		t.Errorf("SetState with an unknown state: %v", err)
	}
	if _, err := s.End(0); err != nil {
		t.Fatalf("End: %v", err)
	}
}
