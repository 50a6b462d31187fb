//! Timestamps in ctask's files: RFC 3339 in UTC, whole seconds; tolerant on read for ctask's
//! own bookkeeping ([`opt`]), strict for what a person edits ([`strict`]: `task.yaml`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Now, truncated to whole seconds.
pub fn now_secs() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

/// Formats `t` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses RFC 3339 with any offset and any fraction.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// serde for `Option<DateTime<Utc>>`: whole-second RFC 3339 out; anything unparseable in → None.
pub mod opt {
    use super::*;

    /// Serialises as whole-second RFC 3339 (callers skip `None`).
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(t)),
            None => s.serialize_none(),
        }
    }

    /// Accepts RFC 3339 with any offset; a malformed or non-string value reads as `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let v = Option::<serde_json::Value>::deserialize(d)?;
        Ok(v.and_then(|v| v.as_str().and_then(parse)))
    }
}

/// serde for `Option<DateTime<Utc>>` with nanoseconds (capture times).
pub mod opt_nanos {
    use super::*;

    /// Serialises as RFC 3339 with nanoseconds (callers skip `None`).
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Nanos, true)),
            None => s.serialize_none(),
        }
    }

    /// Accepts RFC 3339 with any offset; a malformed value reads as `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        super::opt::deserialize(d)
    }
}

/// serde for `Option<DateTime<Utc>>` in files a person edits (`task.yaml`): whole-second
/// RFC 3339 out; a malformed value in is an error naming it.
pub mod strict {
    use super::*;
    use serde::de;

    /// Serialises as whole-second RFC 3339 (callers skip `None`).
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        opt::serialize(t, s)
    }

    /// Accepts RFC 3339 with any offset; anything else is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(s.trim())
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| de::Error::custom(format!("invalid RFC 3339 time {s:?}: {e}"))),
        }
    }
}
