//! A work queue shared by the walk's threads: last in, first out (so the walk goes deep
//! first and few directories are open at a time), finished when it is empty and no thread
//! is working on a job that could add more.

use std::sync::{Condvar, Mutex, MutexGuard};

struct State<T> {
    jobs: Vec<T>,
    /// Jobs taken and not yet finished.
    active: usize,
}

/// The queue.
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

impl<T> Queue<T> {
    /// A queue holding `jobs`.
    pub(crate) fn new(jobs: Vec<T>) -> Self {
        Queue {
            state: Mutex::new(State { jobs, active: 0 }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds jobs (taken from `jobs`, which is left empty).
    pub(crate) fn push(&self, jobs: &mut Vec<T>) {
        if jobs.is_empty() {
            return;
        }
        let n = jobs.len();
        self.lock().jobs.append(jobs);
        if n == 1 {
            self.ready.notify_one();
        } else {
            self.ready.notify_all();
        }
    }

    /// The next job, waiting while other threads may still add some; `None` when all work
    /// is done. Every job taken must be handed back to [`Queue::done`].
    pub(crate) fn take(&self) -> Option<T> {
        let mut st = self.lock();
        loop {
            if let Some(job) = st.jobs.pop() {
                st.active += 1;
                return Some(job);
            }
            if st.active == 0 {
                drop(st);
                self.ready.notify_all();
                return None;
            }
            st = self.ready.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Marks a job taken with [`Queue::take`] as finished.
    pub(crate) fn done(&self) {
        let mut st = self.lock();
        st.active = st.active.saturating_sub(1);
        if st.active == 0 && st.jobs.is_empty() {
            drop(st);
            self.ready.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_adding_jobs_all_run_once() {
        let q = Queue::new(vec![0u32]);
        let count = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    while let Some(depth) = q.take() {
                        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if depth < 10 {
                            q.push(&mut vec![depth + 1, depth + 1]);
                        }
                        q.done();
                    }
                });
            }
        });
        assert_eq!(count.into_inner(), (1 << 11) - 1);
    }
}
