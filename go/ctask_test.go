package ctask_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"example.invalid/ctask/go"
)

// setup gives each test its own roots and no user configuration or inherited session.
func setup(t *testing.T) ctask.Roots {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	t.Setenv("CTASK_ROOT", filepath.Join(tmp, "tasks"))
	for _, k := range []string{"CTASK_PROJECT_ROOT", "CTASK_WORKSPACE", "CTASK_LAUNCH_DIR",
		"CTASK_SESSION_MODE", "CTASK_SEED_DIR", "CTASK_SEED_PROJECT_DIR"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	return ctask.Roots{Root: filepath.Join(tmp, "tasks")}
}

func newWorkspace(t *testing.T, roots ctask.Roots, title string) ctask.Workspace {
	t.Helper()
	ws, err := ctask.CreateWorkspace(ctask.NewWorkspace{Title: title, Roots: roots})
	if err != nil {
		t.Fatalf("CreateWorkspace(%q): %v", title, err)
	}
	return ws
}

func TestVersion(t *testing.T) {
	if v := ctask.Version(); len(strings.Split(v, ".")) != 3 {
		t.Errorf("Version() = %q, want MAJOR.MINOR.PATCH", v)
	}
	if ctask.ABIVersion() != ctask.HeaderABIVersion {
		t.Errorf("ABIVersion() = %d, header says %d", ctask.ABIVersion(), ctask.HeaderABIVersion)
	}
}

func TestSession(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Go session")

	s, err := ctask.Begin(ws.Path, ctask.Options{Agent: "go-test", Env: map[string]string{"EXTRA": "1"}})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer s.Close()
	if s.ID() == "" || s.LaunchDir() != ws.Path {
		t.Errorf("ID %q, LaunchDir %q (workspace %q)", s.ID(), s.LaunchDir(), ws.Path)
	}
	env := s.Env()
	if env["CTASK_SESSION_ID"] != s.ID() || env["EXTRA"] != "1" || env["CTASK_WORKSPACE"] != ws.Path {
		t.Errorf("Env() = %v", env)
	}
	info, err := s.Info()
	if err != nil || info.Role != "owner" || info.Ended {
		t.Errorf("Info() = %+v, %v", info, err)
	}

	st, err := ctask.Status(ws.Path)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.State != "active" || st.Lease == nil || st.Lease.SessionID != s.ID() || st.Lease.Agent != "go-test" {
		t.Errorf("Status during the session = %+v", st)
	}
	if err := s.Heartbeat(); err != nil {
		t.Errorf("Heartbeat: %v", err)
	}

	if err := os.WriteFile(filepath.Join(ws.Path, "from-go.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := s.End(0)
	if err != nil {
		t.Fatalf("End: %v", err)
	}
	if sum.SessionID != s.ID() || sum.EndReason != "child_exited" || sum.ExitCode == nil || *sum.ExitCode != 0 {
		t.Errorf("summary = %+v", sum)
	}
	if len(sum.FilesAdded) != 1 || sum.FilesAdded[0] != "from-go.txt" {
		t.Errorf("FilesAdded = %v", sum.FilesAdded)
	}
	again, err := s.End(5)
	if err != nil || again.SessionID != sum.SessionID || *again.ExitCode != 0 {
		t.Errorf("second End = %+v, %v; want the first summary", again, err)
	}

	st, err = ctask.Status(ws.Path)
	if err != nil || st.State != "none" || st.LastSummary == nil || st.LastSummary.SessionID != s.ID() {
		t.Errorf("Status after End = %+v, %v", st, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := s.Info(); !errors.Is(err, ctask.ErrClosed) {
		t.Errorf("Info after Close: %v, want ErrClosed", err)
	}
	if again, err := s.End(0); err != nil || again.SessionID != sum.SessionID {
		t.Errorf("End after Close = %+v, %v", again, err)
	}
}

func TestBusyWorkspace(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Go busy")

	owner, err := ctask.Begin(ws.Path, ctask.Options{Agent: "first"})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer owner.Close()

	second, err := ctask.Begin(ws.Path, ctask.Options{Agent: "second"})
	if err == nil {
		second.Close()
		t.Fatal("a second Begin in a busy workspace succeeded")
	}
	var busy *ctask.ActiveSessionError
	if !errors.As(err, &busy) {
		t.Fatalf("error %v (%T) is not an *ActiveSessionError", err, err)
	}
	if busy.Owner.PID != os.Getpid() || busy.Owner.SessionID != owner.ID() || busy.Owner.Agent != "first" {
		t.Errorf("Owner = %+v", busy.Owner)
	}
	if !errors.Is(err, ctask.ErrActiveSession) || errors.Is(err, ctask.ErrNotFound) {
		t.Errorf("errors.Is does not match the code of %v", err)
	}
	var base *ctask.Error
	if !errors.As(err, &base) || base.Code != ctask.CodeActiveSession {
		t.Errorf("errors.As(*Error) = %+v", base)
	}

	guest, err := ctask.Begin(ws.Path, ctask.Options{Agent: "guest", OnActive: ctask.OnActiveCoexist})
	if err != nil {
		t.Fatalf("coexisting Begin: %v", err)
	}
	if info, _ := guest.Info(); info.Role != "coexist" || info.Owner == nil {
		t.Errorf("coexisting session info = %+v", info)
	}
	if _, err := guest.End(0); err != nil {
		t.Errorf("coexisting End: %v", err)
	}
	guest.Close()

	if st, _ := ctask.Status(ws.Path); st.State != "active" || st.Lease.SessionID != owner.ID() {
		t.Errorf("the owner lost the workspace: %+v", st)
	}
}

func TestBadInput(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Go bad input")
	newWorkspace(t, roots, "Go bad other")

	cases := []struct {
		name string
		dir  string
		opts ctask.Options
		want *ctask.Error
	}{
		{"missing directory", filepath.Join(ws.Path, "nope"), ctask.Options{}, ctask.ErrNotFound},
		{"not a workspace", filepath.Dir(ws.Path), ctask.Options{}, ctask.ErrNotFound},
		{"non-UTF-8 path", "/tmp/\xff\xfe", ctask.Options{}, ctask.ErrInvalidUTF8},
		{"NUL in path", ws.Path + "\x00x", ctask.Options{}, ctask.ErrInvalidArgument},
		{"launch dir escapes", ws.Path, ctask.Options{LaunchDir: "../x"}, ctask.ErrPathSecurity},
		{"persistent mode", ws.Path, ctask.Options{Mode: "persistent"}, ctask.ErrInvalidArgument},
		{"unknown policy", ws.Path, ctask.Options{OnActive: "wait"}, ctask.ErrInvalidArgument},
		{"heartbeat too slow", ws.Path, ctask.Options{HeartbeatSeconds: 50, StaleAfterSeconds: 60}, ctask.ErrInvalidArgument},
	}
	for _, c := range cases {
		s, err := ctask.Begin(c.dir, c.opts)
		if err == nil {
			s.Close()
			t.Errorf("%s: Begin succeeded", c.name)
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want code %v", c.name, err, c.want.Code)
		}
		var e *ctask.Error
		if !errors.As(err, &e) || e.Message == "" {
			t.Errorf("%s: no message in %v", c.name, err)
		}
	}

	_, err := ctask.Resolve("go-bad", roots, false)
	var amb *ctask.AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 || amb.Query != "go-bad" {
		t.Errorf("Resolve of an ambiguous query: %v (%+v)", err, amb)
	}
	if _, err := ctask.Resolve("nothing-like-it", roots, false); !errors.Is(err, ctask.ErrNotFound) {
		t.Errorf("Resolve of an unknown query: %v", err)
	}
	if _, err := ctask.Status("/nonexistent/ws"); !errors.Is(err, ctask.ErrNotFound) {
		t.Errorf("Status of a missing workspace: %v", err)
	}
	if err := os.WriteFile(filepath.Join(ws.Path, "task.yaml"), []byte("title: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ctask.Begin(ws.Path, ctask.Options{})
	var e *ctask.Error
	if !errors.As(err, &e) || e.Code != ctask.CodeBadFormat || !strings.HasSuffix(e.Path, "task.yaml") {
		t.Errorf("Begin with a corrupt task.yaml: %v (%+v)", err, e)
	}
}

func TestListResolveAndManifests(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Go listed")
	list, err := ctask.List(roots, false)
	if err != nil || len(list) != 1 || list[0].Path != ws.Path {
		t.Fatalf("List = %+v, %v", list, err)
	}
	got, err := ctask.Resolve("go-listed", roots, false)
	if err != nil || got.Path != ws.Path {
		t.Errorf("Resolve = %+v, %v", got, err)
	}

	before, err := ctask.CaptureManifest(ws.Path)
	if err != nil {
		t.Fatalf("CaptureManifest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(ws.Path, "notes.md"), []byte("# Notes\nmore\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := ctask.CaptureManifest(ws.Path)
	if err != nil {
		t.Fatalf("CaptureManifest: %v", err)
	}
	d, err := ctask.DiffManifests(before, after)
	if err != nil || len(d.Modified) != 1 || d.Modified[0] != "notes.md" || len(d.Added) != 0 {
		t.Errorf("DiffManifests = %+v, %v", d, err)
	}
	if _, err := ctask.DiffManifests(ctask.Manifest{}, ctask.Manifest{}); err != nil {
		t.Errorf("DiffManifests of empty manifests: %v", err)
	}
}

func TestFinalizerEndsAbandonedSession(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Go finalizer")
	func() {
		s, err := ctask.Begin(ws.Path, ctask.Options{NoHeartbeat: true})
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		_ = s.ID()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		st, err := ctask.Status(ws.Path)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if st.State == "none" && st.LastSummary != nil {
			if st.LastSummary.EndReason != "abandoned" {
				t.Errorf("end_reason = %q, want abandoned", st.LastSummary.EndReason)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the finalizer did not end the dropped session")
}

// needPersistent gives the supervisor (CTASK_TEST_SUPERVISOR, the ctask binary) and a
// private tmux server; without them the test fails under CI=true and is skipped otherwise.
func needPersistent(t *testing.T) string {
	t.Helper()
	sup := os.Getenv("CTASK_TEST_SUPERVISOR")
	_, tmuxErr := exec.LookPath("tmux")
	if sup == "" || tmuxErr != nil {
		msg := fmt.Sprintf("persistent sessions need CTASK_TEST_SUPERVISOR (%q) and tmux (%v)", sup, tmuxErr)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Setenv("TMUX_TMPDIR", t.TempDir())
	return sup
}

func TestPersistentSession(t *testing.T) {
	roots := setup(t)
	sup := needPersistent(t)
	ws := newWorkspace(t, roots, "Go persistent")

	s, err := ctask.Begin(ws.Path, ctask.Options{
		Mode:       ctask.ModePersistent,
		Argv:       []string{"sh", "-c", "echo from the agent > from-agent.txt; sleep 1"},
		Supervisor: sup,
	})
	if err != nil {
		t.Fatalf("Begin(persistent): %v", err)
	}
	defer s.Close()
	info, err := s.Info()
	if err != nil || !s.Persistent() || info.Role != "supervised" || info.TmuxSession == "" ||
		info.SupervisorPID == 0 || info.Supervisor == "" {
		t.Errorf("Info() = %+v, %v", info, err)
	}
	if err := s.Heartbeat(); err != nil {
		t.Errorf("Heartbeat of a persistent session: %v", err)
	}
	if _, err := s.End(0); !errors.Is(err, ctask.ErrSupervised) {
		t.Errorf("End of a persistent session: %v, want ErrSupervised", err)
	}
	if _, err := ctask.Begin(ws.Path, ctask.Options{Mode: ctask.ModePersistent, Argv: []string{"true"}, Supervisor: sup}); !errors.Is(err, ctask.ErrActiveSession) {
		t.Errorf("a second persistent Begin: %v, want ErrActiveSession", err)
	}

	// The supervisor ends the session when the agent exits, whoever holds the handle.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := ctask.Status(ws.Path)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if st.LastSummary != nil && st.LastSummary.SessionID == s.ID() {
			sum := st.LastSummary
			if sum.EndReason != "tmux_session_ended" || sum.Mode != ctask.ModePersistent ||
				len(sum.FilesAdded) != 1 || sum.FilesAdded[0] != "from-agent.txt" {
				t.Errorf("summary = %+v", sum)
			}
			if st.State != "none" {
				t.Errorf("state after the end = %q", st.State)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor did not end the session; status %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ch, err := ctask.WorkspaceChanges(ws.Path)
	if err != nil || ch.Baseline != "last_session" || ch.BaselineSessionID != s.ID() || len(ch.Added) != 0 {
		t.Errorf("WorkspaceChanges = %+v, %v", ch, err)
	}
}

func TestPersistentOptionsAreChecked(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Go persistent options")
	cases := []ctask.Options{
		{Argv: []string{"true"}},     // argv in direct mode
		{Mode: ctask.ModePersistent}, // no argv
		{Mode: ctask.ModePersistent, Argv: []string{"true"}, NoHeartbeat: true},
		{Mode: ctask.ModePersistent, Argv: []string{"true"}, Supervisor: "/nonexistent/ctask"},
	}
	for _, opts := range cases {
		s, err := ctask.Begin(ws.Path, opts)
		if err == nil {
			s.Close()
			t.Errorf("Begin(%+v) succeeded", opts)
			continue
		}
		if !errors.Is(err, ctask.ErrInvalidArgument) {
			t.Errorf("Begin(%+v): %v, want ErrInvalidArgument", opts, err)
		}
	}
	if st, _ := ctask.Status(ws.Path); st.State != "none" || st.LastSummary != nil {
		t.Errorf("a refused Begin left %+v", st)
	}
}

// TestAgentRootIsTheConfiguredRoot checks the one rule for CTASK_ROOT from Go: the task root
// the caller configured (CTASK_ROOT in the environment, or root in config.yaml), for a
// workspace under it and for one opened by path from elsewhere — what the CLI and Python
// give too.
func TestAgentRootIsTheConfiguredRoot(t *testing.T) {
	for _, from := range []string{"environment", "config file"} {
		roots := setup(t)
		if from == "config file" {
			dir := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "ctask")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("root: "+roots.Root+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("CTASK_ROOT", "")
			os.Unsetenv("CTASK_ROOT")
		}
		elsewhere := ctask.Roots{Root: filepath.Join(t.TempDir(), "elsewhere")}
		for _, r := range []ctask.Roots{roots, elsewhere} {
			ws := newWorkspace(t, r, "Agent root")
			s, err := ctask.Begin(ws.Path, ctask.Options{HeartbeatSeconds: 1, StaleAfterSeconds: 60})
			if err != nil {
				t.Fatalf("Begin(%s): %v", ws.Path, err)
			}
			env := s.Env()
			if _, err := s.End(0); err != nil {
				t.Fatalf("End: %v", err)
			}
			s.Close()
			if env["CTASK_ROOT"] != roots.Root {
				t.Errorf("root from the %s, %s: CTASK_ROOT = %q, want %q", from, ws.Path, env["CTASK_ROOT"], roots.Root)
			}
			if env["CTASK_WORKSPACE"] != ws.Path {
				t.Errorf("CTASK_WORKSPACE = %q, want %q", env["CTASK_WORKSPACE"], ws.Path)
			}
		}
	}
}

// nextEvent receives the next event within 10 s.
func nextEvent(t *testing.T, ch <-chan ctask.Event) ctask.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("the event channel closed early")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return ctask.Event{}
}

func TestWatchUntilCancelled(t *testing.T) {
	roots := setup(t)
	if err := os.MkdirAll(roots.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, poll := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := ctask.Watch(ctx, ctask.WatchOptions{Paths: []string{roots.Root}, Poll: poll, PollIntervalMs: 100})
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		ws := newWorkspace(t, roots, fmt.Sprintf("Go watch %v", poll))
		s, err := ctask.Begin(ws.Path, ctask.Options{Agent: "go-watch"})
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		if _, err := s.End(0); err != nil {
			t.Fatalf("End: %v", err)
		}
		s.Close()
		var got []string
		for len(got) < 3 {
			e := nextEvent(t, ch)
			if e.Workspace != ws.Path || e.Slug != ws.Slug {
				t.Errorf("event of %q (%q), want %q", e.Workspace, e.Slug, ws.Path)
			}
			got = append(got, e.Event)
			if e.Event == "start" && e.Fields["agent"] != "go-watch" {
				t.Errorf("start fields %v", e.Fields)
			}
			if e.Event == "created" && (e.At == "" || e.TS != "") {
				t.Errorf("created event %+v", e)
			}
		}
		if strings.Join(got, " ") != "created start end" {
			t.Errorf("events %v, want created start end", got)
		}
		cancel()
		select {
		case _, ok := <-ch:
			if ok {
				t.Error("an event after cancel")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the channel was not closed after cancel")
		}
	}
	_, err := ctask.Watch(context.Background(), ctask.WatchOptions{Since: "yesterday"})
	var ce *ctask.Error
	if !errors.As(err, &ce) || ce.Code != ctask.CodeInvalidArgument || !strings.Contains(ce.Message, "since") {
		t.Errorf("bad since: %v", err)
	}
}

func TestUndo(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Go undo")
	made := filepath.Join(ws.Path, "made.txt")

	s, err := ctask.Begin(ws.Path, ctask.Options{Agent: "go-test"})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if err := os.WriteFile(made, []byte("made\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.End(0); err != nil {
		t.Fatalf("End: %v", err)
	}
	s.Close()

	h, err := ctask.SessionHistory(ws.Path)
	if err != nil {
		t.Fatalf("SessionHistory: %v", err)
	}
	if len(h.Sessions) != 1 || h.Sessions[0].Kind != "session" || !h.Sessions[0].Restorable ||
		h.Sessions[0].Changes.Added != 1 {
		t.Fatalf("history = %+v", h)
	}

	r, err := ctask.Undo(ws.Path, ctask.UndoOptions{DryRun: true})
	if err != nil || r.Applied || len(r.Items) != 1 || r.Items[0].Action != "remove" {
		t.Fatalf("dry run = %+v, %v", r, err)
	}
	if _, err := os.Stat(made); err != nil {
		t.Fatalf("a dry run removed the file: %v", err)
	}
	r, err = ctask.Undo(ws.Path, ctask.UndoOptions{})
	if err != nil || !r.Applied || r.SessionID == "" {
		t.Fatalf("Undo = %+v, %v", r, err)
	}
	if _, err := os.Stat(made); !os.IsNotExist(err) {
		t.Fatalf("made.txt still there after undo: %v", err)
	}
	// Undo again: a redo, with the same bytes and mode.
	if r, err = ctask.Undo(ws.Path, ctask.UndoOptions{}); err != nil || !r.Applied {
		t.Fatalf("redo = %+v, %v", r, err)
	}
	if b, err := os.ReadFile(made); err != nil || string(b) != "made\n" {
		t.Fatalf("redo gave %q, %v", b, err)
	}
	if st, _ := os.Stat(made); st == nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode after redo: %v", st)
	}

	// Refused while a session is live.
	owner, err := ctask.Begin(ws.Path, ctask.Options{Agent: "owner"})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	_, err = ctask.Undo(ws.Path, ctask.UndoOptions{})
	var busy *ctask.ActiveSessionError
	if !errors.As(err, &busy) {
		t.Errorf("Undo during a session: %v (%T)", err, err)
	}
	owner.Close()

	if _, err := ctask.Undo(ws.Path, ctask.UndoOptions{SessionID: "no-such"}); !errors.Is(err, ctask.ErrInvalidArgument) {
		t.Errorf("Undo of an unknown session: %v", err)
	}
}

// `snapshots: false` in task.yaml holds for a session begun from Go: nothing is stored;
// without it the same session stores.
func TestSnapshotsOffInTaskYAML(t *testing.T) {
	roots := setup(t)
	for _, off := range []bool{true, false} {
		ws := newWorkspace(t, roots, fmt.Sprintf("Go snapshots %v", off))
		if off {
			f, err := os.OpenFile(filepath.Join(ws.Path, "task.yaml"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("snapshots: false\n"); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		s, err := ctask.Begin(ws.Path, ctask.Options{Agent: "go-test"})
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		if err := os.WriteFile(filepath.Join(ws.Path, "made.txt"), []byte("made\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.End(0); err != nil {
			t.Fatalf("End: %v", err)
		}
		s.Close()
		for _, d := range []string{"objects", "history"} {
			_, err := os.Stat(filepath.Join(ws.Path, ".ctask", d))
			if stored := err == nil; stored == off {
				t.Errorf("snapshots off=%v: .ctask/%s exists=%v", off, d, stored)
			}
		}
	}
}
