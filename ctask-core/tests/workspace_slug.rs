//! Slug rules (docs/design.md §3).

use chrono::{Local, TimeZone};
use ctask_core::workspace::slug::{
    MAX_SLUG_BYTES, dir_name, slug_from_dir_name, slug_or_fallback, slugify,
};
use proptest::prelude::*;

#[test]
fn unicode_becomes_dashes() {
    assert_eq!(slugify("Café Déjà Vu"), "caf-d-j-vu");
    assert_eq!(slugify("日本語のタイトル"), "");
    assert_eq!(slugify("日本語 title 2"), "title-2");
    assert_eq!(slugify("Über-Größe"), "ber-gr-e");
    assert_eq!(slugify("emoji 🚀 launch"), "emoji-launch");
}

#[test]
fn punctuation_runs_become_one_dash_and_ends_are_trimmed() {
    assert_eq!(slugify("Fix Auth: login!"), "fix-auth-login");
    assert_eq!(slugify("a!!!b???c"), "a-b-c");
    assert_eq!(slugify("  --Hello,   World!!  "), "hello-world");
    assert_eq!(slugify("under_score.dot/slash"), "under-score-dot-slash");
    assert_eq!(slugify("MiXeD CaSe 42"), "mixed-case-42");
}

#[test]
fn capped_at_60_bytes_without_trailing_dash() {
    let long = "word ".repeat(40);
    let s = slugify(&long);
    assert!(s.len() <= MAX_SLUG_BYTES, "{s}");
    assert!(!s.ends_with('-'));
    assert!(s.starts_with("word-word"));

    // A dash lands exactly on the cut: it must be trimmed.
    let title = format!("{} b", "a".repeat(59));
    assert_eq!(slugify(&title), "a".repeat(59));
    let title = format!("{}!!!{}", "a".repeat(60), "b".repeat(10));
    assert_eq!(slugify(&title), "a".repeat(60));
}

#[test]
fn empty_title_gets_task_hhmmss() {
    let t = Local
        .with_ymd_and_hms(2025, 3, 4, 9, 8, 7)
        .single()
        .expect("valid local time");
    assert_eq!(slug_or_fallback("", &t), "task-090807");
    assert_eq!(slug_or_fallback("!!! ???", &t), "task-090807");
    assert_eq!(slug_or_fallback("日本", &t), "task-090807");
    assert_eq!(slug_or_fallback("x", &t), "x");
}

#[test]
fn directory_names() {
    let d = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).expect("date");
    assert_eq!(dir_name(d, "fix", 1), "2025-01-02_fix");
    assert_eq!(dir_name(d, "fix", 2), "2025-01-02_fix-2");
    assert_eq!(slug_from_dir_name("2025-01-02_fix-2"), "fix-2");
    assert_eq!(slug_from_dir_name("no-date-here"), "no-date-here");
}

proptest! {
    #[test]
    fn slug_is_always_clean(title in "\\PC{0,200}") {
        let s = slugify(&title);
        prop_assert!(s.len() <= MAX_SLUG_BYTES);
        prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        prop_assert!(!s.starts_with('-') && !s.ends_with('-'));
        prop_assert!(!s.contains("--"));
    }
}
