//! Checking and parsing session options: written once here, called by every face, so the
//! same bad option gets the same error from the CLI, C, Python and Go.

use std::str::FromStr;

use crate::error::{Error, Result};

use super::{Mode, OnActive, SessionOptions};

impl SessionOptions {
    /// Checks every option a caller can get wrong: the agent label, the agent's environment,
    /// the launch directory and argv, and the intervals (heartbeat at least 1 s and at most
    /// half of `stale_after_seconds`). Errors are [`Error::InvalidArgument`] naming the option.
    pub fn validate(&self) -> Result<()> {
        if self.agent.trim().is_empty() {
            return Err(Error::invalid_option("agent", "`agent` must not be empty"));
        }
        if self.agent.contains('\0') {
            return Err(Error::invalid_option(
                "agent",
                "`agent` must not contain NUL",
            ));
        }
        for (k, v) in &self.agent_env {
            if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
                return Err(Error::invalid_option(
                    "env",
                    format!(
                        "`env`: invalid environment variable {k:?} (a name must be non-empty, \
                     without `=` or NUL; a value without NUL)"
                    ),
                ));
            }
        }
        if let Some(dir) = &self.launch_dir
            && dir.contains('\0')
        {
            return Err(Error::invalid_option(
                "launch_dir",
                "`launch_dir` must not contain NUL",
            ));
        }
        if let Some(argv) = &self.launch {
            if argv.first().is_none_or(|p| p.is_empty()) {
                return Err(Error::invalid_option("argv", "`argv` must name a command"));
            }
            if argv.iter().any(|a| a.contains('\0')) {
                return Err(Error::invalid_option(
                    "argv",
                    "`argv`: arguments must not contain NUL",
                ));
            }
        }
        if self.root.as_ref().is_some_and(|r| r.as_os_str().is_empty()) {
            return Err(Error::invalid_option("root", "`root` must not be empty"));
        }
        if self.stale_after_seconds == 0 {
            return Err(Error::invalid_option(
                "stale_after_seconds",
                "`stale_after_seconds` must be at least 1",
            ));
        }
        let (h, s) = (self.heartbeat_seconds, self.stale_after_seconds);
        if h == 0 || h.saturating_mul(2) > s {
            return Err(Error::invalid_option(
                "heartbeat_seconds",
                format!(
                    "`heartbeat_seconds` ({h}) must be at least 1 and at most half of \
                 `stale_after_seconds` ({s})"
                ),
            ));
        }
        Ok(())
    }

    /// Checks that these options suit a persistent session, whose supervisor owns the
    /// lease, heartbeats and captures with the ignore files: `force`, `on_active: coexist`,
    /// no heartbeat and ignoring the ignore files are refused, naming the option.
    pub fn validate_persistent(&self) -> Result<()> {
        self.validate()?;
        let refused = [
            ("force", "true", self.force),
            (
                "on_active",
                "\"coexist\"",
                self.on_active == OnActive::Coexist,
            ),
            ("heartbeat", "false", !self.heartbeat),
            ("respect_ignore", "false", !self.capture.respect_ignore),
        ];
        match refused.iter().find(|(_, _, bad)| *bad) {
            Some((key, value, _)) => Err(Error::invalid_option(
                key,
                format!(
                    "`{key}`: {value} is not available in persistent mode (the supervisor owns \
                     the lease, heartbeats and captures with the ignore files)"
                ),
            )),
            None => Ok(()),
        }
    }
}

impl OnActive {
    /// `error` or `coexist`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnActive::Error => "error",
            OnActive::Coexist => "coexist",
        }
    }
}

impl FromStr for OnActive {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "error" => Ok(OnActive::Error),
            "coexist" => Ok(OnActive::Coexist),
            other => Err(Error::invalid_option(
                "on_active",
                format!("`on_active` must be \"error\" or \"coexist\", not {other:?}"),
            )),
        }
    }
}

impl FromStr for Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "direct" => Ok(Mode::Direct),
            "persistent" => Ok(Mode::Persistent),
            other => Err(Error::invalid_option(
                "mode",
                format!("`mode` must be \"direct\" or \"persistent\", not {other:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_option_is_named() {
        let ok = SessionOptions::default();
        assert!(ok.validate().is_ok());
        let cases: Vec<(SessionOptions, &str)> = vec![
            (
                SessionOptions {
                    agent: " ".into(),
                    ..SessionOptions::default()
                },
                "`agent`",
            ),
            (
                SessionOptions {
                    agent_env: [("A=B".to_owned(), "x".to_owned())].into(),
                    ..SessionOptions::default()
                },
                "`env`",
            ),
            (
                SessionOptions {
                    heartbeat_seconds: 31,
                    stale_after_seconds: 60,
                    ..SessionOptions::default()
                },
                "`heartbeat_seconds` (31)",
            ),
            (
                SessionOptions {
                    heartbeat_seconds: 0,
                    ..SessionOptions::default()
                },
                "`heartbeat_seconds` (0)",
            ),
            (
                SessionOptions {
                    stale_after_seconds: 0,
                    ..SessionOptions::default()
                },
                "`stale_after_seconds`",
            ),
            (
                SessionOptions {
                    launch: Some(vec![String::new()]),
                    ..SessionOptions::default()
                },
                "`argv`",
            ),
        ];
        for (opts, named) in cases {
            match opts.validate() {
                Err(Error::InvalidArgument { detail, option }) => {
                    assert!(detail.contains(named), "{detail:?} should name {named}");
                    let key = named.split('`').nth(1).unwrap_or_default();
                    assert_eq!(option.as_deref(), Some(key), "{detail:?}");
                }
                other => panic!("{opts:?}: expected an invalid-argument error, got {other:?}"),
            }
        }
    }

    #[test]
    fn option_strings_parse_and_round_trip() {
        for m in [Mode::Direct, Mode::Persistent] {
            assert_eq!(m.as_str().parse::<Mode>().ok(), Some(m));
        }
        for o in [OnActive::Error, OnActive::Coexist] {
            assert_eq!(o.as_str().parse::<OnActive>().ok(), Some(o));
        }
        assert!(matches!(
            "local".parse::<Mode>(),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            "Error".parse::<OnActive>(),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
