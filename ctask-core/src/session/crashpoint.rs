//! Named crash points for crash-injection tests. With the `crash-points` feature (never
//! enabled in the builds users get), [`hit`] stops the process at the point named by
//! `CTASK_CRASH_AT`:
//!
//! - `CTASK_CRASH_MODE=abort` (the default): the process sends itself `SIGKILL`, exactly
//!   like `kill -9` (no destructor, no flush, the kernel drops its locks);
//! - `CTASK_CRASH_MODE=pause`: it writes the point's name to the file named by
//!   `CTASK_CRASH_MARKER` and sleeps, so a test can `kill -9` it there.
//!
//! Without the feature, [`hit`] is an empty inline function and compiles to nothing.

/// Stops the process here when `CTASK_CRASH_AT` names `point` (feature `crash-points`).
#[cfg(feature = "crash-points")]
pub fn hit(point: &str) {
    if std::env::var_os("CTASK_CRASH_AT").is_none_or(|at| at != point) {
        return;
    }
    if std::env::var("CTASK_CRASH_MODE").as_deref() == Ok("pause") {
        if let Some(marker) = std::env::var_os("CTASK_CRASH_MARKER") {
            let _ = std::fs::write(marker, point);
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    // SAFETY: signalling ourselves; SIGKILL cannot be caught, so nothing runs after it.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
        libc::_exit(137);
    }
}

/// Does nothing: the `crash-points` feature is off.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn hit(_point: &str) {}
