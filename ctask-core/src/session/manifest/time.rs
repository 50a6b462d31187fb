//! Nanosecond file timestamps, written as RFC 3339 in UTC with nine fraction digits.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 0000-01-01T00:00:00Z in seconds since the Unix epoch.
const MIN_SECS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z in seconds since the Unix epoch.
const MAX_SECS: i64 = 253_402_300_799;

/// A point in time to the nanosecond (an `mtime` or `ctime`), ordered chronologically.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// The timestamp `secs` seconds and `nanos` nanoseconds after the Unix epoch; values
    /// outside the years 0000–9999 (all RFC 3339 can express) are clamped to them.
    pub fn from_unix(secs: i64, nanos: i64) -> Self {
        let secs = secs.saturating_add(nanos.div_euclid(1_000_000_000));
        let nanos = nanos.rem_euclid(1_000_000_000) as u32;
        if secs < MIN_SECS {
            Timestamp {
                secs: MIN_SECS,
                nanos: 0,
            }
        } else if secs > MAX_SECS {
            Timestamp {
                secs: MAX_SECS,
                nanos: 999_999_999,
            }
        } else {
            Timestamp { secs, nanos }
        }
    }

    /// The same instant as `dt`.
    pub fn from_datetime(dt: &DateTime<Utc>) -> Self {
        Timestamp::from_unix(dt.timestamp(), i64::from(dt.timestamp_subsec_nanos()))
    }

    /// Whole seconds since the Unix epoch.
    pub fn secs(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second (`0..1_000_000_000`).
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// This instant moved `secs` seconds earlier.
    pub fn minus_secs(&self, secs: i64) -> Self {
        Timestamp::from_unix(self.secs.saturating_sub(secs), i64::from(self.nanos))
    }

    /// The same instant as a chrono date-time.
    pub fn to_datetime(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.secs, self.nanos).unwrap_or_default()
    }

    /// Parses an RFC 3339 timestamp with any offset and up to nine fraction digits.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(t) = parse_utc_fast(s) {
            return Some(t);
        }
        let dt = DateTime::parse_from_rfc3339(s).ok()?;
        Some(Timestamp::from_datetime(&dt.with_timezone(&Utc)))
    }
}

impl Timestamp {
    /// The RFC 3339 form `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, as bytes.
    fn to_bytes(self) -> [u8; 30] {
        let (y, mo, d) = civil_from_days(self.secs.div_euclid(86_400));
        let sod = self.secs.rem_euclid(86_400) as u32;
        let mut out = *b"0000-00-00T00:00:00.000000000Z";
        put_digits(&mut out[0..4], y as u32);
        put_digits(&mut out[5..7], mo);
        put_digits(&mut out[8..10], d);
        put_digits(&mut out[11..13], sod / 3600);
        put_digits(&mut out[14..16], sod / 60 % 60);
        put_digits(&mut out[17..19], sod % 60);
        put_digits(&mut out[20..29], self.nanos);
        out
    }
}

/// Writes `v` as decimal digits filling `out` (zero-padded; higher digits dropped).
fn put_digits(out: &mut [u8], mut v: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `z` days after 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Parses the canonical UTC form (`Z`, optional fraction of 1–9 digits) without chrono;
/// `None` for anything else (which chrono then gets to judge).
fn parse_utc_fast(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't') || !matches!(b[b.len() - 1], b'Z' | b'z') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let nanos = match b.len() {
        20 => 0,
        22..=30 if b[19] == b'.' => {
            let digits = b.len() - 21;
            num(20..b.len() - 1)? * 10u32.pow((9 - digits) as u32)
        }
        _ => return None,
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d == 0 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec);
    Some(Timestamp { secs, nanos })
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = self.to_bytes();
        match std::str::from_utf8(&bytes) {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v)
                    .ok_or_else(|| E::custom(format!("invalid RFC 3339 timestamp {v:?}")))
            }
        }
        d.deserialize_str(V)
    }
}

/// Serde helpers for a `DateTime<Utc>` written like a [`Timestamp`] (RFC 3339, UTC,
/// nanoseconds) and read with any offset.
pub(crate) mod rfc3339 {
    use super::Timestamp;
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(dt: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        Timestamp::from_datetime(dt).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        Ok(Timestamp::deserialize(d)?.to_datetime())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_nine_digits() {
        let t = Timestamp::from_unix(1_700_000_000, 5);
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.000000005Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }

    #[test]
    fn parses_offsets_and_short_fractions() {
        let a = Timestamp::parse("2023-11-14T23:13:20.5+01:00").unwrap();
        assert_eq!(a, Timestamp::from_unix(1_700_000_000, 500_000_000));
        let b = Timestamp::parse("2023-11-14T22:13:20Z").unwrap();
        assert_eq!(b, Timestamp::from_unix(1_700_000_000, 0));
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn fast_paths_agree_with_chrono() {
        let mut secs: i64 = super::MIN_SECS;
        let mut nanos: i64 = 0;
        while secs < super::MAX_SECS {
            let t = Timestamp::from_unix(secs, nanos);
            let text = t.to_string();
            let chrono_text = t
                .to_datetime()
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            assert_eq!(text, chrono_text);
            assert_eq!(parse_utc_fast(&text), Some(t));
            let short = t
                .to_datetime()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            assert_eq!(parse_utc_fast(&short), Some(t), "{short}");
            secs += 7_777_777 + (secs.rem_euclid(86_400));
            nanos = (nanos * 31 + 123_457) % 1_000_000_000;
        }
        for bad in [
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T00:00:00.Z",
            "2023-01-01T00:00:00.1234567890Z",
            "2023-01-01 00:00:00Z",
            "2023-01-01T00:00:00+00:00",
        ] {
            assert_eq!(parse_utc_fast(bad), None, "{bad}");
        }
        assert!(Timestamp::parse("2024-02-29T00:00:00Z").is_some());
        assert!(Timestamp::parse("2023-01-01T00:00:00+00:00").is_some());
    }

    #[test]
    fn normalises_and_clamps() {
        assert_eq!(
            Timestamp::from_unix(10, -1),
            Timestamp::from_unix(9, 999_999_999)
        );
        let far = Timestamp::from_unix(i64::MAX, 0);
        assert_eq!(far.to_string(), "9999-12-31T23:59:59.999999999Z");
        assert_eq!(Timestamp::parse(&far.to_string()), Some(far));
        let early = Timestamp::from_unix(i64::MIN, 0);
        assert_eq!(early.to_string(), "0000-01-01T00:00:00.000000000Z");
        let before = Timestamp::from_unix(-1, 0);
        assert_eq!(before.to_string(), "1969-12-31T23:59:59.000000000Z");
    }
}
