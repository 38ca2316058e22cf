//! Timeouts as helm, oras and kubectl take them (`30s`, `2m`, `1m30s`), and a plain number as
//! seconds, as packreg always took it.

/// What a timeout must be, for the messages that refuse one.
pub const TIMEOUT_EXPECTED: &str =
    "a duration of at least 1s in whole seconds, such as 30s, 2m, 1m30s or 90 (seconds)";

/// What a retry budget must be, for the messages that refuse one.
pub const BUDGET_EXPECTED: &str =
    "a duration in whole seconds, such as 5m, 90s or 300 (seconds); 0 for no retries";

/// Reads a duration in whole seconds: a plain number, or `90s`, `2m`, `1m30s`, `1h`.
fn parse_secs(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().map_err(|e| e.to_string());
    }
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration.subsec_nanos() != 0 {
        return Err("not a whole number of seconds".into());
    }
    Ok(duration.as_secs())
}

/// Reads a timeout in whole seconds (at least one): `90`, `90s`, `2m`, `1m30s`, `1h`.
pub fn parse_timeout_secs(text: &str) -> Result<u64, String> {
    match parse_secs(text)? {
        0 => Err("must be at least 1s".into()),
        secs => Ok(secs),
    }
}

/// [`parse_timeout_secs`] for clap: the error names what is expected.
pub fn timeout_flag(text: &str) -> Result<u64, String> {
    parse_timeout_secs(text).map_err(|e| format!("{e}; expected {TIMEOUT_EXPECTED}"))
}

/// Reads a retry budget in whole seconds (0: no retries), as a timeout is written.
pub fn parse_budget_secs(text: &str) -> Result<u64, String> {
    parse_secs(text)
}

/// [`parse_budget_secs`] for clap: the error names what is expected.
pub fn budget_flag(text: &str) -> Result<u64, String> {
    parse_budget_secs(text).map_err(|e| format!("{e}; expected {BUDGET_EXPECTED}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_a_duration_or_plain_seconds() {
        for (text, secs) in [
            ("30", 30),
            ("30s", 30),
            ("2m", 120),
            ("1m30s", 90),
            ("1m 30s", 90),
            ("1h", 3600),
            (" 45 ", 45),
        ] {
            assert_eq!(parse_timeout_secs(text), Ok(secs), "{text}");
        }
        for bad in [
            "",
            "0",
            "0s",
            "500ms",
            "1.5s",
            "soon",
            "-3",
            "99999999999999999999",
        ] {
            assert!(parse_timeout_secs(bad).is_err(), "{bad}");
        }
        assert!(timeout_flag("x").unwrap_err().contains("such as 30s, 2m"));
        assert_eq!(parse_budget_secs("0"), Ok(0));
        assert_eq!(parse_budget_secs("5m"), Ok(300));
        assert!(budget_flag("1.5s")
            .unwrap_err()
            .contains("0 for no retries"));
    }
}
