//! A reader of the snapshot store written from its documented layout (docs/undo.md,
//! "Packs"), independent of ctask's own: which contents `.ctask/objects/` holds, where a
//! packed one lies, and how to take one out or damage it, as an attacker or a failing disk
//! would.

use std::fs;
use std::path::{Path, PathBuf};

const FOOTER: usize = 56;
const SLOT: usize = 44;

/// The store directory of workspace `ws`.
pub fn objects_dir(ws: &Path) -> PathBuf {
    ws.join(".ctask").join("objects")
}

/// The packs of the store (paths).
pub fn packs(ws: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(objects_dir(ws))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().unwrap_or_default().to_string_lossy();
                    n.starts_with("pack-") && n.ends_with(".pack")
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The slots of a pack: (hash in hex, frame offset, frame length), in index order.
pub fn slots(pack: &Path) -> Vec<(String, u64, u32)> {
    let b = fs::read(pack).expect("read pack");
    assert_eq!(&b[..8], b"CTASKPCK", "{}", pack.display());
    assert_eq!(&b[b.len() - 8..], b"CTASKPKE", "{}", pack.display());
    let foot = &b[b.len() - FOOTER..];
    let at = u64::from_le_bytes(foot[..8].try_into().unwrap()) as usize;
    let count = u64::from_le_bytes(foot[8..16].try_into().unwrap()) as usize;
    b[at..at + count * SLOT]
        .chunks_exact(SLOT)
        .map(|s| {
            let hex: String = s[..32].iter().map(|x| format!("{x:02x}")).collect();
            let off = u64::from_le_bytes(s[32..40].try_into().unwrap());
            let len = u32::from_le_bytes(s[40..44].try_into().unwrap());
            (hex, off, len)
        })
        .collect()
}

/// The hashes (hex) of every stored content, loose or packed, sorted.
pub fn stored(ws: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(objects_dir(ws))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 64)
                .collect()
        })
        .unwrap_or_default();
    for p in packs(ws) {
        v.extend(slots(&p).into_iter().map(|(h, _, _)| h));
    }
    v.sort();
    v.dedup();
    v
}

/// Where the content of hash `hex` lies: its loose file, or its pack, offset and length.
pub fn locate(ws: &Path, hex: &str) -> Option<(PathBuf, u64, u32)> {
    let loose = objects_dir(ws).join(hex);
    if let Ok(m) = fs::metadata(&loose) {
        return Some((loose, 0, m.len() as u32));
    }
    packs(ws).into_iter().find_map(|p| {
        slots(&p)
            .into_iter()
            .find(|(h, _, _)| h == hex)
            .map(|(_, off, len)| (p.clone(), off, len))
    })
}

/// Flips a byte in the middle of the stored frame of `hex`.
pub fn damage(ws: &Path, hex: &str) {
    let (path, off, len) = locate(ws, hex).expect("stored");
    let mut b = fs::read(&path).unwrap();
    b[(off + u64::from(len) / 2) as usize] ^= 0xff;
    fs::write(&path, b).unwrap();
}

/// Takes the content of `hex` out of the store: its loose file is removed, or its pack is
/// rewritten with an index that no longer names it (checksum recomputed).
pub fn remove(ws: &Path, hex: &str) {
    let (path, _, _) = locate(ws, hex).expect("stored");
    if !path.to_string_lossy().ends_with(".pack") {
        fs::remove_file(path).unwrap();
        return;
    }
    let b = fs::read(&path).unwrap();
    let at = u64::from_le_bytes(b[b.len() - FOOTER..][..8].try_into().unwrap()) as usize;
    let mut index = Vec::new();
    let mut count = 0u64;
    for (h, off, len) in slots(&path) {
        if h == hex {
            continue;
        }
        for i in 0..32 {
            index.push(u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap());
        }
        index.extend_from_slice(&off.to_le_bytes());
        index.extend_from_slice(&len.to_le_bytes());
        count += 1;
    }
    let mut out = b[..at].to_vec();
    out.extend_from_slice(&index);
    out.extend_from_slice(&(at as u64).to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    let sum = super::sha256_hex(&index);
    for i in 0..32 {
        out.push(u8::from_str_radix(&sum[2 * i..2 * i + 2], 16).unwrap());
    }
    out.extend_from_slice(b"CTASKPKE");
    fs::write(&path, out).unwrap();
}
