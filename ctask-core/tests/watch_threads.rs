//! A dropped watcher leaves no thread behind (one test alone in its process, so that the
//! count of threads is its own).

use std::time::{Duration, Instant};

use ctask_core::watch::{WatchOptions, Watcher};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn dropping_a_watcher_stops_its_thread() {
    let root = tempfile::tempdir().unwrap();
    let before = threads();
    let mut w = Watcher::new(WatchOptions {
        roots: vec![root.path().to_path_buf()],
        ..WatchOptions::default()
    })
    .unwrap();
    assert!(!w.is_polling());
    assert!(w.next_event(Duration::from_millis(50)).unwrap().is_none());
    assert!(threads() > before, "inotify runs a thread while watching");
    drop(w);
    let end = Instant::now() + Duration::from_secs(5);
    while threads() > before && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(threads(), before);
}
