//! Signal handling of the CLI's run path only (the library installs none): TERM and HUP
//! are forwarded to the agent (installed before begin), INT and QUIT are caught by no-op
//! handlers while the agent runs — never ignored, since `SIG_IGN` would survive `exec`.

use std::sync::atomic::{AtomicI32, Ordering};

static CHILD: AtomicI32 = AtomicI32::new(0);
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(child, sig);
        }
    } else {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

extern "C" fn ignore(_sig: libc::c_int) {}

fn install(sig: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: the action is fully initialised; the handlers only touch atomics and call
    // async-signal-safe functions.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = handler as usize;
        act.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(sig, &act, std::ptr::null_mut());
    }
}

/// Installs TERM/HUP forwarding (call before begin). Also ignores SIGXFSZ, so a write past
/// a file-size limit (`ulimit -f`) fails with a clear error and begin undoes what it wrote,
/// instead of the signal killing ctask between two writes; the agent gets the default back
/// before exec (see `ctask_core::session::run`).
pub fn forward_termination() {
    install(libc::SIGTERM, forward);
    install(libc::SIGHUP, forward);
    // SAFETY: setting a standard disposition; no handler code runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Catches INT/QUIT with no-op handlers (call just before the agent is spawned): the
/// terminal delivers them to the agent, which stays in the foreground process group.
pub fn shield_interrupts() {
    install(libc::SIGINT, ignore);
    install(libc::SIGQUIT, ignore);
}

/// Records the agent's pid and forwards a termination signal that arrived before it ran.
pub fn child_started(pid: u32) {
    let pid = libc::pid_t::try_from(pid).unwrap_or(0);
    CHILD.store(pid, Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 && pid > 0 {
        // SAFETY: plain kill of our own child.
        unsafe {
            libc::kill(pid, pending);
        }
    }
}

/// Forgets the agent once it has been reaped.
pub fn child_finished() {
    CHILD.store(0, Ordering::SeqCst);
}

/// A termination signal received while no agent was running, if any.
pub fn pending() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signals this module may change.
const MANAGED: [libc::c_int; 5] = [
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGXFSZ,
];

/// The dispositions of the signals this module changes, as they were when captured; put
/// back on drop, so a host that runs the CLI in its own process (a Python interpreter)
/// keeps its handlers.
pub struct Saved {
    actions: Vec<(libc::c_int, libc::sigaction)>,
}

impl Saved {
    /// Records the current dispositions.
    pub fn capture() -> Self {
        let mut actions = Vec::with_capacity(MANAGED.len());
        for sig in MANAGED {
            // SAFETY: a zeroed sigaction is a valid out-parameter; sigaction with a null new
            // action only reads the current one.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) == 0 {
                    actions.push((sig, old));
                }
            }
        }
        Saved { actions }
    }
}

impl Drop for Saved {
    fn drop(&mut self) {
        CHILD.store(0, Ordering::SeqCst);
        PENDING.store(0, Ordering::SeqCst);
        for (sig, act) in &self.actions {
            // SAFETY: `act` was returned by sigaction for this very signal.
            unsafe {
                libc::sigaction(*sig, act, std::ptr::null_mut());
            }
        }
    }
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn request_stop(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Makes INT and TERM ask a long-running command (`watch`) to stop cleanly: see
/// [`stop_requested`].
pub fn stop_on_termination() {
    install(libc::SIGINT, request_stop);
    install(libc::SIGTERM, request_stop);
}

/// Whether INT or TERM arrived since [`stop_on_termination`].
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
