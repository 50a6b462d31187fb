//! One manifest entry and its JSON form.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// What a listed path is. Directories are never listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A regular file (also what an entry without `kind`, from the reference tool, means).
    #[default]
    File,
    /// A symbolic link, recorded with its target and never followed.
    Symlink,
    /// A FIFO, socket or device: recorded, never opened.
    Other,
}

/// One path of a manifest.
///
/// JSON keys: `path`, `size`, `mtime`, `sha256` (hex), `kind`, `target`, `ino`, `ctime`,
/// `mode`;
/// absent values are omitted. Entries written by the reference tool carry only `path`,
/// `size` and `mtime`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Workspace-relative, `/`-separated path.
    pub path: String,
    /// Size in bytes (for a symlink: the length of its target).
    pub size: u64,
    /// Modification time.
    pub mtime: Timestamp,
    /// SHA-256 of the content: regular files only, absent when the file could not be read
    /// (or the entry comes from the reference tool).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex32")]
    pub sha256: Option<[u8; 32]>,
    /// What the path is.
    #[serde(default)]
    pub kind: Kind,
    /// The target of a symlink, as stored in the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Inode number (hash-cache key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
    /// Inode change time (hash-cache key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<Timestamp>,
    /// Permission bits (`st_mode & 0o7777`), what undo restores; absent in manifests of
    /// earlier versions and of the reference tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

impl Entry {
    /// Whether this entry is a regular file described only by size and mtime: written by
    /// the reference tool, which records neither hash nor inode data.
    pub fn is_legacy(&self) -> bool {
        self.kind == Kind::File && self.sha256.is_none() && self.ctime.is_none()
    }

    /// The SHA-256 as 64 lower-case hex digits, when known.
    pub fn sha256_hex(&self) -> Option<String> {
        self.sha256
            .as_ref()
            .map(|d| hex32::encode(d).iter().map(|&b| b as char).collect())
    }
}

/// Serde helpers for an optional 32-byte digest written as 64 hex digits.
pub(crate) mod hex32 {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    const DIGITS: &[u8; 16] = b"0123456789abcdef";

    /// Lower-case hex digits of `d`.
    pub(crate) fn encode(d: &[u8; 32]) -> [u8; 64] {
        let mut out = [0u8; 64];
        for (i, b) in d.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
        }
        out
    }

    /// The digest spelled by exactly 64 hex digits (either case).
    pub(crate) fn decode(s: &str) -> Option<[u8; 32]> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        let s = s.as_bytes();
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(out)
    }

    pub(crate) fn serialize<S: Serializer>(d: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => {
                let hex = encode(d);
                // Only ASCII hex digits were written.
                s.serialize_str(std::str::from_utf8(&hex).unwrap_or_default())
            }
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<[u8; 32]>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<[u8; 32]>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SHA-256 as 64 hex digits")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                decode(v)
                    .map(Some)
                    .ok_or_else(|| E::custom(format!("invalid sha256 {v:?}")))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_str(V)
            }
        }
        d.deserialize_option(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let mut d = [0u8; 32];
        for (i, b) in d.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        let hex = hex32::encode(&d);
        assert_eq!(hex32::decode(std::str::from_utf8(&hex).unwrap()), Some(d));
        assert_eq!(hex32::decode("abc"), None);
        assert_eq!(hex32::decode(&"g".repeat(64)), None);
    }

    #[test]
    fn omits_absent_values() {
        let e = Entry {
            path: "a".into(),
            size: 1,
            mtime: Timestamp::from_unix(0, 0),
            sha256: None,
            kind: Kind::Other,
            target: None,
            ino: None,
            ctime: None,
            mode: None,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"path":"a","size":1,"mtime":"1970-01-01T00:00:00.000000000Z","kind":"other"}"#
        );
    }
}
