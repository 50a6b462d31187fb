//! Nanosecond file timestamps, written as RFC 3339 in UTC with nine fraction digits.

use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};
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
        let dt = DateTime::parse_from_rfc3339(s).ok()?;
        Some(Timestamp::from_datetime(&dt.with_timezone(&Utc)))
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_datetime();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            self.nanos
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
