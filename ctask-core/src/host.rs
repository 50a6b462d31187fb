//! Facts about this host and its processes: host name, user, boot id, process start
//! times and whether a pid is still running.

use std::fs;

/// This machine's host name ("localhost" when it is empty).
pub fn hostname() -> String {
    let uname = rustix::system::uname();
    let name = String::from_utf8_lossy(uname.nodename().to_bytes())
        .trim()
        .to_owned();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}

/// The name of the user running this process (`$USER` as a fallback, else the uid).
pub fn username() -> String {
    let uid = rustix::process::getuid().as_raw();
    // SAFETY: an all-zero passwd (null pointers, zero ids) is a valid value to be filled in.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the duration of the call; buf outlives its use.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: pw_name points into buf and is NUL-terminated.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        if let Ok(s) = name.to_str() {
            return s.to_owned();
        }
    }
    std::env::var("USER").unwrap_or_else(|_| uid.to_string())
}

/// The kernel's boot id (Linux), which changes at every boot.
pub fn boot_id() -> Option<String> {
    let s = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The start time of process `pid` in clock ticks since boot (Linux `/proc/<pid>/stat`
/// field 22); detects a pid that was reused by another process.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts with field 3 (state); starttime is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This process's id.
pub fn current_pid() -> u32 {
    std::process::id()
}

/// Whether a process exists, as far as this host can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidState {
    /// The process exists (or exists but belongs to someone else).
    Running,
    /// No such process.
    Gone,
}

/// Probes `pid` with signal 0 (EPERM counts as running).
pub fn pid_state(pid: u32) -> PidState {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return PidState::Gone;
    };
    match rustix::process::test_kill_process(p) {
        Err(rustix::io::Errno::SRCH) => PidState::Gone,
        _ => PidState::Running,
    }
}

/// Whether the process recorded as (`pid`, `start`, `boot`) on this host is still the
/// same running process: gone, or a different start time or boot → false.
pub fn same_process_running(pid: u32, start: Option<u64>, boot: Option<&str>) -> bool {
    if let (Some(recorded), Some(now)) = (boot, boot_id())
        && recorded != now
    {
        return false;
    }
    if pid_state(pid) == PidState::Gone {
        return false;
    }
    match (start, process_start(pid)) {
        (Some(recorded), Some(actual)) => recorded == actual,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_running_with_its_start_time() {
        let pid = current_pid();
        let start = process_start(pid);
        assert!(start.is_some());
        assert!(same_process_running(pid, start, boot_id().as_deref()));
        assert!(!same_process_running(pid, start.map(|s| s + 1), None));
        assert!(!same_process_running(pid, start, Some("another-boot")));
    }

    #[test]
    fn reaped_child_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(pid_state(pid), PidState::Gone);
    }

    #[test]
    fn hostname_and_user_are_not_empty() {
        assert!(!hostname().is_empty());
        assert!(!username().is_empty());
    }
}
