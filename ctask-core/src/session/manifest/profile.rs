//! Where a capture's time goes: with the `profile` feature, every timed step adds its
//! elapsed time (monotonic clock, on the thread that ran it) and a call count to per-phase
//! totals that [`take`] reads; without it, [`time`] only runs the step.
//!
//! Each thread sums into its own counters and adds them to the shared totals when its part
//! of the walk is over, so the threads do not contend on every call.

/// The steps of a capture that are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// One walk thread's whole share of the walk (the phases below, except
    /// [`Phase::Merge`], happen inside it).
    Walk,
    /// Joining the threads' entries into one sorted list, after the walk.
    Merge,
    /// Reading a directory's names (`getdents64`).
    List,
    /// Opening a sub-directory (`openat`).
    OpenDir,
    /// Sorting names and entries.
    Sort,
    /// Reading ignore files and matching names against them.
    Rules,
    /// `fstatat` of a name.
    Stat,
    /// Opening a file for hashing (`openat`).
    Open,
    /// `fstat` of an opened file.
    Fstat,
    /// Reading file contents into the worker's buffer.
    Read,
    /// SHA-256 of what was read.
    Hash,
    /// Closing a hashed file.
    Close,
}

#[cfg(feature = "profile")]
pub use counting::{PhaseTotal, take};
#[cfg(feature = "profile")]
pub(crate) use counting::{flush, time};

#[cfg(not(feature = "profile"))]
/// Runs `step` (the `profile` feature is off: nothing is counted).
#[inline(always)]
pub(crate) fn time<T>(_phase: Phase, step: impl FnOnce() -> T) -> T {
    step()
}

#[cfg(not(feature = "profile"))]
/// Nothing to flush without the `profile` feature.
#[inline(always)]
pub(crate) fn flush() {}

#[cfg(feature = "profile")]
mod counting {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    use super::Phase;

    const PHASES: [Phase; 12] = [
        Phase::Walk,
        Phase::Merge,
        Phase::List,
        Phase::OpenDir,
        Phase::Sort,
        Phase::Rules,
        Phase::Stat,
        Phase::Open,
        Phase::Fstat,
        Phase::Read,
        Phase::Hash,
        Phase::Close,
    ];
    const N: usize = PHASES.len();

    static NANOS: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
    static CALLS: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];

    thread_local! {
        static LOCAL: [(Cell<u64>, Cell<u64>); N] =
            const { [const { (Cell::new(0), Cell::new(0)) }; N] };
    }

    /// One phase's totals since the last [`take`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PhaseTotal {
        /// The phase.
        pub phase: Phase,
        /// Time spent in it, summed over threads, nanoseconds.
        pub nanos: u64,
        /// Timed calls.
        pub calls: u64,
    }

    /// Runs `step`, adding its time and one call to `phase` on this thread.
    #[inline]
    pub(crate) fn time<T>(phase: Phase, step: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let r = step();
        let ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        LOCAL.with(|l| {
            let (n, c) = &l[phase as usize];
            n.set(n.get() + ns);
            c.set(c.get() + 1);
        });
        r
    }

    /// Adds this thread's counters to the shared totals and clears them.
    pub(crate) fn flush() {
        LOCAL.with(|l| {
            for (i, (n, c)) in l.iter().enumerate() {
                NANOS[i].fetch_add(n.replace(0), Ordering::Relaxed);
                CALLS[i].fetch_add(c.replace(0), Ordering::Relaxed);
            }
        });
    }

    /// The totals of every phase since the last call (each capture flushes its threads'
    /// counters before it returns), resetting them to zero.
    pub fn take() -> Vec<PhaseTotal> {
        flush();
        PHASES
            .iter()
            .map(|&phase| PhaseTotal {
                phase,
                nanos: NANOS[phase as usize].swap(0, Ordering::Relaxed),
                calls: CALLS[phase as usize].swap(0, Ordering::Relaxed),
            })
            .collect()
    }
}

#[cfg(all(test, feature = "profile"))]
mod tests {
    use super::*;

    #[test]
    fn counts_time_and_calls_across_threads() {
        let _ = take();
        std::thread::scope(|s| {
            s.spawn(|| {
                time(Phase::Hash, || {
                    std::thread::sleep(std::time::Duration::from_millis(2))
                });
                flush();
            });
        });
        time(Phase::Hash, || ());
        let t = take();
        let hash = t.iter().find(|p| p.phase == Phase::Hash).unwrap();
        // Captures of other tests running meanwhile may add to the totals, never take away.
        assert!(hash.calls >= 2, "{hash:?}");
        assert!(hash.nanos >= 2_000_000, "{hash:?}");
    }

    #[test]
    fn a_capture_counts_its_steps() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..3 {
            std::fs::create_dir_all(d.path().join(format!("d{i}"))).unwrap();
            std::fs::write(d.path().join(format!("d{i}/f")), b"content").unwrap();
        }
        let _ = take();
        let c = super::super::capture(d.path(), &Default::default(), None).unwrap();
        assert_eq!(c.hashed_files, 3);
        let t = take();
        let calls = |p: Phase| t.iter().find(|x| x.phase == p).unwrap().calls;
        // At least this capture's own steps (other tests' captures may add more).
        for (p, n) in [
            (Phase::Open, 3),
            (Phase::Fstat, 3),
            (Phase::Read, 3),
            (Phase::Close, 3),
            (Phase::OpenDir, 3),
            (Phase::List, 4),
            (Phase::Merge, 1),
            (Phase::Walk, 1),
        ] {
            assert!(calls(p) >= n, "{p:?}: {t:?}");
        }
    }
}
