// Package ctask is a Go binding of libctask, the C API of ctask: workspaces for AI-agent
// work and the recorded sessions around every visit to them.
//
// A session wraps a visit to a workspace directory: Begin takes the workspace (or fails
// with an *ActiveSessionError when someone else is in it), End records what changed and
// returns the hand-off Summary.
//
//	s, err := ctask.Begin(dir, ctask.Options{Agent: "my-plugin"})
//	if err != nil {
//		var busy *ctask.ActiveSessionError
//		if errors.As(err, &busy) {
//			log.Printf("workspace busy: pid %d on %s", busy.Owner.PID, busy.Owner.Hostname)
//		}
//		return err
//	}
//	defer s.Close()
//	// ... run the agent in s.LaunchDir() with s.Env() ...
//	summary, err := s.End(exitCode)
//
// Building needs libctask and its pkg-config file: install them with
// `make install PREFIX=...` in the ctask repository and set PKG_CONFIG_PATH to
// PREFIX/lib/pkgconfig (the installed ctask.pc carries an rpath, so no LD_LIBRARY_PATH is
// needed). Persistent sessions (Options.Mode = ModePersistent) run the agent in tmux under
// a detached ctask supervisor. See docs/go.md.
//
// Errors are *Error values (or *ActiveSessionError / *AmbiguousError, which wrap one);
// compare them with errors.Is against ErrNotFound, ErrActiveSession, … or inspect the Code.
// A Session that becomes unreachable without Close is ended as abandoned by a finalizer,
// but call Close (or End) yourself: finalizers run late, if at all.
package ctask
