//! Named crash points for crash-injection tests. With the `crash-points` feature (never
//! enabled in the builds users get), [`hit`] stops the process at the point named by
//! `CTASK_CRASH_AT`:
//!
//! - `CTASK_CRASH_MODE=abort` (the default): the process sends itself `SIGKILL`, exactly
//!   like `kill -9` (no destructor, no flush, the kernel drops its locks);
//! - `CTASK_CRASH_MODE=pause`: it writes the point's name to the file named by
//!   `CTASK_CRASH_MARKER` and sleeps, so a test can `kill -9` it there.
//!
//! With `CTASK_RUN_AT` naming the point, [`hit`] instead runs `sh -c "$CTASK_RUN_CMD"` there
//! and goes on: a test plays another process acting at that very moment (the reference
//! tool writing a lease while ctask captures, say).
//!
//! [`fail`] names fault points: with the feature, it says "fail here" when
//! `CTASK_FAIL_AT` names the point, so a test can make an operation that cannot be made to
//! fail from outside (a thread spawn, an `fsync`) fail on purpose.
//!
//! [`wait`] is a hook of the same kind that lets a test act between two steps of the
//! process: at the point named by `CTASK_HOOK_AT`, for the name in `CTASK_HOOK_NAME`, it
//! creates the file named by `CTASK_HOOK_MARKER` and waits (up to a minute) until the test
//! has removed it.
//!
//! Without the feature, [`hit`], [`fail`] and [`wait`] are empty inline functions and compile to
//! nothing.

/// Stops the process here when `CTASK_CRASH_AT` names `point` (feature `crash-points`).
#[cfg(feature = "crash-points")]
pub fn hit(point: &str) {
    if std::env::var_os("CTASK_RUN_AT").is_some_and(|at| at == point)
        && let Some(cmd) = std::env::var_os("CTASK_RUN_CMD")
    {
        let _ = std::process::Command::new("sh").arg("-c").arg(cmd).status();
    }
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

/// Whether the operation at fault point `point` must fail (`CTASK_FAIL_AT` names it;
/// feature `crash-points`).
#[cfg(feature = "crash-points")]
pub fn fail(point: &str) -> bool {
    std::env::var_os("CTASK_FAIL_AT").is_some_and(|at| at == point)
}

/// Never: the `crash-points` feature is off.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn fail(_point: &str) -> bool {
    false
}

/// Waits at `point` for `name` while the test acts, when `CTASK_HOOK_AT` names `point` and
/// `CTASK_HOOK_NAME` names `name` (feature `crash-points`): creates `CTASK_HOOK_MARKER`, then
/// returns once the test has removed it, or after a minute.
#[cfg(feature = "crash-points")]
pub fn wait(point: &str, name: &str) {
    if std::env::var_os("CTASK_HOOK_AT").is_none_or(|at| at != point)
        || std::env::var_os("CTASK_HOOK_NAME").is_none_or(|n| n != name)
    {
        return;
    }
    let Some(marker) = std::env::var_os("CTASK_HOOK_MARKER") else {
        return;
    };
    let marker = std::path::PathBuf::from(marker);
    if std::fs::write(&marker, point).is_err() {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while marker.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Does nothing: the `crash-points` feature is off.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn wait(_point: &str, _name: &str) {}
