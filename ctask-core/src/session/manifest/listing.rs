//! The names of one directory, read from its descriptor and stored back to back (one
//! allocation per directory, not one per name).

use std::ffi::CStr;
use std::io;
use std::os::fd::OwnedFd;

/// A file type as the directory listing reports it (`d_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DType {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device.
    Other,
    /// Not reported by the file system: `fstatat` tells.
    Unknown,
}

impl DType {
    fn of(t: rustix::fs::FileType) -> Self {
        use rustix::fs::FileType as T;
        match t {
            T::Directory => DType::Dir,
            T::RegularFile => DType::File,
            T::Symlink => DType::Symlink,
            T::Unknown => DType::Unknown,
            _ => DType::Other,
        }
    }
}

/// One name of a [`Listing`].
#[derive(Debug, Clone, Copy)]
struct Item {
    /// Offset of the name in `names`; the name is followed by a NUL byte.
    start: usize,
    len: usize,
    dtype: DType,
}

/// The names of one directory, in the order the file system returned them.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    names: Vec<u8>,
    items: Vec<Item>,
}

impl Listing {
    /// How many names there are.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The `i`-th name, without its NUL.
    pub(crate) fn name(&self, i: usize) -> &[u8] {
        let it = self.items[i];
        &self.names[it.start..it.start + it.len]
    }

    /// The `i`-th name as a C string for `openat` and friends.
    pub(crate) fn c_name(&self, i: usize) -> &CStr {
        let it = self.items[i];
        // Each name was stored with exactly one NUL after it and none inside.
        CStr::from_bytes_with_nul(&self.names[it.start..=it.start + it.len]).unwrap_or_default()
    }

    /// The type the listing reported for the `i`-th name.
    pub(crate) fn dtype(&self, i: usize) -> DType {
        self.items[i].dtype
    }

    /// Whether one of the names is `name` (after [`Listing::sort`]).
    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        self.items
            .binary_search_by(|it| self.names[it.start..it.start + it.len].cmp(name))
            .is_ok()
    }

    /// Sorts the names by their bytes: the walk then visits them in path order, which lets
    /// it find them in the (sorted) hash cache by moving forward, and leaves sorted runs
    /// for the final sort.
    pub(crate) fn sort(&mut self) {
        let names = &self.names;
        self.items.sort_unstable_by(|a, b| {
            names[a.start..a.start + a.len].cmp(&names[b.start..b.start + b.len])
        });
    }

    fn push(&mut self, name: &[u8], dtype: DType) {
        if name == b"." || name == b".." || name.is_empty() {
            return;
        }
        let start = self.names.len();
        self.names.extend_from_slice(name);
        self.names.push(0);
        self.items.push(Item {
            start,
            len: name.len(),
            dtype,
        });
    }
}

/// Size of each worker's buffer for the kernel's directory records.
pub(crate) const BUFFER_SIZE: usize = 32 * 1024;

/// Reads every name of the directory `fd` into `out` with `getdents64`, the kernel writing
/// its records into `buf`'s spare capacity.
#[cfg(target_os = "linux")]
pub(crate) fn read(fd: &OwnedFd, buf: &mut Vec<u8>, out: &mut Listing) -> io::Result<()> {
    buf.clear();
    buf.reserve(BUFFER_SIZE);
    let mut dir = rustix::fs::RawDir::new(fd, buf.spare_capacity_mut());
    while let Some(entry) = dir.next() {
        match entry {
            Ok(e) => out.push(e.file_name().to_bytes(), DType::of(e.file_type())),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads every name of the directory `fd` into `out` through a directory stream on a
/// duplicate of the descriptor (the duplicate shares the directory's position).
#[cfg(not(target_os = "linux"))]
pub(crate) fn read(fd: &OwnedFd, _buf: &mut Vec<u8>, out: &mut Listing) -> io::Result<()> {
    let dir = rustix::fs::Dir::read_from(fd)?;
    for entry in dir {
        let e = entry?;
        out.push(e.file_name().to_bytes(), DType::of(e.file_type()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_name_once_with_its_type() {
        let d = tempfile::tempdir().unwrap();
        let mut want = Vec::new();
        for i in 0..2000 {
            let name = format!("file-with-a-longish-name-{i}");
            std::fs::write(d.path().join(&name), b"").unwrap();
            want.push(name);
        }
        std::fs::create_dir(d.path().join("sub")).unwrap();
        want.push("sub".into());
        let fd = OwnedFd::from(std::fs::File::open(d.path()).unwrap());
        let mut out = Listing::default();
        read(&fd, &mut Vec::new(), &mut out).unwrap();
        out.sort();
        let got: Vec<String> = (0..out.len())
            .map(|i| String::from_utf8(out.name(i).to_vec()).unwrap())
            .collect();
        want.sort();
        assert_eq!(got, want);
        let sub = (0..out.len()).find(|&i| out.name(i) == b"sub").unwrap();
        assert!(matches!(out.dtype(sub), DType::Dir | DType::Unknown));
        assert_eq!(out.c_name(sub).to_bytes(), b"sub");
        assert!(out.contains(b"sub") && !out.contains(b"none"));
    }
}
