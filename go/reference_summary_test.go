package ctask_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"example.invalid/ctask/go"
)

// referenceSummary is last-session-summary.json as the reference tool (Go ctask v0.6)
// declares it: its keys, and end_manifest entries of path, size and mtime. Go's decoder
// ignores the keys it does not declare, as the reference tool's does.
type referenceSummary struct {
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
	NotesUpdated    bool      `json:"notes_updated"`
	EndReason       string    `json:"end_reason"`
	DetectedVia     string    `json:"detected_via"`
	EndManifest     []struct {
		Path  string    `json:"path"`
		Size  int64     `json:"size"`
		Mtime time.Time `json:"mtime"`
	} `json:"end_manifest"`
}

// endSessionAddingFiles runs one session that adds n files and returns the summary file's
// bytes.
func endSessionAddingFiles(t *testing.T, ws ctask.Workspace, n int) []byte {
	t.Helper()
	s, err := ctask.Begin(ws.Path, ctask.Options{Agent: "go-test"})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer s.Close()
	for i := 0; i < n; i++ {
		name := filepath.Join(ws.Path, "f"+string(rune('a'+i))+".txt")
		if err := os.WriteFile(name, []byte("content\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.End(0); err != nil {
		t.Fatalf("End: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(ws.Path, ".ctask", "last-session-summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A summary of each kind — with its end manifest, and with the manifest left out above
// summary_manifest_max — parses as the reference tool's struct, and the bounded one says how
// many entries it left out.
func TestSummariesParseAsTheReferenceToolReadsThem(t *testing.T) {
	roots := setup(t)
	ws := newWorkspace(t, roots, "Reference summary")
	full := endSessionAddingFiles(t, ws, 2)
	var ref referenceSummary
	if err := json.Unmarshal(full, &ref); err != nil {
		t.Fatalf("a summary with its end manifest does not parse as the reference's: %v", err)
	}
	paths := map[string]bool{}
	for _, e := range ref.EndManifest {
		paths[e.Path] = true
		if e.Mtime.IsZero() {
			t.Errorf("end_manifest entry %q has no mtime", e.Path)
		}
	}
	if !paths["fa.txt"] || !paths["fb.txt"] || ref.SessionID == "" || ref.EndReason != "child_exited" {
		t.Errorf("reference view of the summary: %+v", ref)
	}

	config := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "ctask")
	if err := os.MkdirAll(config, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(config, "config.yaml"), []byte("summary_manifest_max: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bounded := endSessionAddingFiles(t, ws, 4)
	var ref2 referenceSummary
	if err := json.Unmarshal(bounded, &ref2); err != nil {
		t.Fatalf("a summary without its end manifest does not parse as the reference's: %v", err)
	}
	if ref2.EndManifest != nil || len(ref2.FilesAdded) != 2 {
		t.Errorf("bounded summary, reference view: %+v", ref2)
	}
	var ours struct {
		Omitted *int `json:"end_manifest_omitted"`
	}
	if err := json.Unmarshal(bounded, &ours); err != nil || ours.Omitted == nil || *ours.Omitted < 4 {
		t.Errorf("end_manifest_omitted = %v (%v); the tree has at least 4 files", ours.Omitted, err)
	}
}
