//! The type of filesystem a workspace lies on: network filesystems (NFS, SMB, …) make
//! `flock` unreliable, which `doctor` reports.

use std::path::Path;

/// A filesystem type by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsType {
    /// Its name (`ext4`, `nfs`, …, or the magic number in hex).
    pub name: String,
    /// Whether it is a network filesystem (locks unreliable).
    pub network: bool,
}

/// The filesystem type of the mount holding `path` (Linux `statfs` magic numbers).
#[cfg(target_os = "linux")]
pub fn filesystem_type(path: &Path) -> Option<FsType> {
    let st = rustix::fs::statfs(path).ok()?;
    #[allow(clippy::unnecessary_cast)]
    let magic = (st.f_type as u64) & 0xFFFF_FFFF;
    Some(fs_from_magic(magic))
}

/// The filesystem type of the mount holding `path` (unknown on this system).
#[cfg(not(target_os = "linux"))]
pub fn filesystem_type(_path: &Path) -> Option<FsType> {
    None
}

/// Names a Linux `statfs` magic number.
pub fn fs_from_magic(magic: u64) -> FsType {
    let (name, network) = match magic {
        0x6969 => ("nfs", true),
        0xFF53_4D42 => ("cifs", true),
        0xFE53_4D42 => ("smb2", true),
        0x517B => ("smb", true),
        0x0102_1997 => ("9p", true),
        0x00C3_6400 => ("ceph", true),
        0x5346_414F | 0x6B41_4653 => ("afs", true),
        0x0BD0_0BD0 => ("lustre", true),
        0x4750_4653 => ("gpfs", true),
        0xEF53 => ("ext4", false),
        0x0102_1994 => ("tmpfs", false),
        0x9123_683E => ("btrfs", false),
        0x5846_5342 => ("xfs", false),
        0x794C_7630 => ("overlayfs", false),
        0x2FC1_2FC1 => ("zfs", false),
        0x6573_5546 => ("fuse", false),
        0xF2F5_2010 => ("f2fs", false),
        0x8584_58F6 => ("ramfs", false),
        0x7371_7368 => ("squashfs", false),
        0x4D44 => ("vfat", false),
        0x2011_BAB0 => ("exfat", false),
        0x5346_544E => ("ntfs", false),
        0x0187 => ("autofs", false),
        _ => {
            return FsType {
                name: format!("0x{magic:x}"),
                network: false,
            };
        }
    };
    FsType {
        name: name.to_owned(),
        network,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfs_is_a_network_filesystem() {
        assert_eq!(
            fs_from_magic(0x6969),
            FsType {
                name: "nfs".into(),
                network: true
            }
        );
        assert!(!fs_from_magic(0xEF53).network);
        assert_eq!(fs_from_magic(0x1234).name, "0x1234");
    }

    #[test]
    fn a_local_directory_has_a_type() {
        let fs = filesystem_type(Path::new("/")).map(|f| f.name);
        assert!(fs.is_some_and(|n| !n.is_empty()));
    }
}
