//! The heartbeat: the lease owner rewrites `heartbeat_at` every interval from a background
//! thread that blocks async signals and stops within 100 ms when told to.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::dirfd::Dir;
use super::lease::{self, Lease, LeaseFile};
use super::paths;
use super::timefmt;
use super::writelock::{self, WriteLock};
use crate::error::{Error, Result};

/// The lease a heartbeat keeps fresh, and the `.ctask/` directory (opened at begin) it
/// lives in.
#[derive(Debug)]
pub struct Beat {
    /// `.ctask/`, reached only through this descriptor.
    pub dir: Dir,
    /// The lease as last written by its owner.
    pub lease: Lease,
}

impl Beat {
    /// Rewrites `heartbeat_at` under `write.lock`, only while the file still holds our
    /// lease, keeping the agent state found in it.
    pub fn tick(&mut self) -> Result<()> {
        let _guard = WriteLock::acquire_in(&self.dir, paths::WRITE_LOCK, writelock::WAIT)?;
        match lease::read_in(&self.dir)? {
            LeaseFile::Present(on_disk) if on_disk.session_id == self.lease.session_id => {
                // The agent state is written by `ctask state`, never by the owner: carry it.
                self.lease.keep_agent_state(&on_disk);
            }
            _ => {
                return Err(Error::format(
                    self.dir.join(paths::LEASE),
                    "no longer holds this session's lease; heartbeat skipped",
                ));
            }
        }
        self.lease.heartbeat_at = Some(timefmt::now_secs());
        lease::write_in(&self.dir, &self.lease)
    }
}

#[derive(Default)]
struct Stop {
    stopped: bool,
}

/// A running heartbeat thread.
pub struct Heartbeat {
    stop: Arc<(Mutex<Stop>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heartbeat").finish_non_exhaustive()
    }
}

impl Heartbeat {
    /// Starts a thread that ticks `beat` every `interval` (first tick after one interval).
    pub fn start(beat: Arc<Mutex<Beat>>, interval: Duration) -> Result<Heartbeat> {
        let stop = Arc::new((Mutex::new(Stop::default()), Condvar::new()));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("ctask-heartbeat".into())
            .spawn(move || {
                block_async_signals();
                let (lock, cvar) = &*stop2;
                let mut next = Instant::now() + interval;
                loop {
                    let Ok(mut state) = lock.lock() else { return };
                    loop {
                        if state.stopped {
                            return;
                        }
                        let now = Instant::now();
                        if now >= next {
                            break;
                        }
                        state = match cvar.wait_timeout(state, next - now) {
                            Ok((s, _)) => s,
                            Err(_) => return,
                        };
                    }
                    drop(state);
                    if let Ok(mut b) = beat.lock() {
                        // A failed tick is retried at the next interval.
                        let _ = b.tick();
                    }
                    next = Instant::now() + interval;
                }
            })
            .map_err(|e| Error::io("heartbeat thread", e))?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it (it wakes at once).
    pub fn stop(&mut self) {
        let (lock, cvar) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            s.stopped = true;
        }
        cvar.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Blocks every asynchronous signal in the calling thread, so the host's handlers run on
/// its own threads only.
fn block_async_signals() {
    // SAFETY: the set is initialised by sigfillset before use; pthread_sigmask only
    // affects the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for sync in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGABRT,
        ] {
            libc::sigdelset(&mut set, sync);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_after_one_interval_and_stops_fast() {
        let d = tempfile::tempdir().unwrap();
        let lease_path = d.path().join("session.json");
        let mut l = Lease::new("id-1".into(), "test", lease::Mode::Direct, 1);
        l.heartbeat_at = timefmt::parse("2000-01-01T00:00:00Z");
        lease::write(&lease_path, &l).unwrap();
        let beat = Arc::new(Mutex::new(Beat {
            dir: Dir::open(d.path()).unwrap(),
            lease: l,
        }));
        let mut hb = Heartbeat::start(beat, Duration::from_millis(150)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let LeaseFile::Present(before) = lease::read(&lease_path).unwrap() else {
            panic!()
        };
        assert_eq!(
            timefmt::format(&before.heartbeat_at.unwrap()),
            "2000-01-01T00:00:00Z"
        );
        std::thread::sleep(Duration::from_millis(250));
        let LeaseFile::Present(after) = lease::read(&lease_path).unwrap() else {
            panic!()
        };
        assert!(after.heartbeat_at.unwrap() > before.heartbeat_at.unwrap());
        let t = Instant::now();
        hb.stop();
        assert!(t.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn tick_refuses_a_foreign_lease() {
        let d = tempfile::tempdir().unwrap();
        let lease_path = d.path().join("session.json");
        let other = Lease::new("other".into(), "x", lease::Mode::Direct, 30);
        lease::write(&lease_path, &other).unwrap();
        let mut b = Beat {
            dir: Dir::open(d.path()).unwrap(),
            lease: Lease::new("mine".into(), "x", lease::Mode::Direct, 30),
        };
        assert!(b.tick().is_err());
        let LeaseFile::Present(l) = lease::read(&lease_path).unwrap() else {
            panic!()
        };
        assert_eq!(l.session_id, "other");
    }
}
