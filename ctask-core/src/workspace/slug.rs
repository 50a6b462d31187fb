//! Slugs and directory names: `<YYYY-MM-DD>_<slug>`.

use chrono::{DateTime, Local, NaiveDate, TimeZone};

/// Longest slug made from a title, in bytes (a collision suffix may come on top).
pub const MAX_SLUG_BYTES: usize = 60;

/// Turns a title into a slug: lower-cased, every run of characters outside `[a-z0-9]`
/// becomes one `-`, `-` trimmed at both ends, capped at [`MAX_SLUG_BYTES`] and trimmed
/// again. The result may be empty (see [`slug_or_fallback`]).
pub fn slugify(title: &str) -> String {
    let mut out = String::with_capacity(title.len().min(MAX_SLUG_BYTES));
    let mut pending_dash = false;
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else {
            pending_dash = true;
        }
        if out.len() >= MAX_SLUG_BYTES {
            break;
        }
    }
    out.truncate(MAX_SLUG_BYTES);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// [`slugify`], or `task-HHMMSS` (local time of `now`) when the title yields nothing.
pub fn slug_or_fallback<Tz: TimeZone>(title: &str, now: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let s = slugify(title);
    if s.is_empty() {
        format!("task-{}", now.format("%H%M%S"))
    } else {
        s
    }
}

/// The directory name of a workspace: `<YYYY-MM-DD>_<slug>`, with `-N` for the N-th
/// workspace of that name (N ≥ 2).
pub fn dir_name(date: NaiveDate, slug: &str, n: u32) -> String {
    if n <= 1 {
        format!("{}_{slug}", date.format("%Y-%m-%d"))
    } else {
        format!("{}_{slug}-{n}", date.format("%Y-%m-%d"))
    }
}

/// Today's local date, as used in directory names.
pub fn today() -> NaiveDate {
    Local::now().date_naive()
}

/// The slug implied by a directory name: the part after a leading `YYYY-MM-DD_`, or the
/// whole name when it has no such prefix.
pub fn slug_from_dir_name(name: &str) -> &str {
    match name.split_once('_') {
        Some((date, rest))
            if !rest.is_empty() && NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok() =>
        {
            rest
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(slugify("Fix Auth: login!"), "fix-auth-login");
        assert_eq!(slugify("--a--b--"), "a-b");
        assert_eq!(slugify(""), "");
        assert_eq!(slug_from_dir_name("2025-01-02_fix-auth"), "fix-auth");
        assert_eq!(slug_from_dir_name("misc_thing"), "misc_thing");
    }
}
