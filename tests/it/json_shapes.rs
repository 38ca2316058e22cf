//! `--json` output a script can rely on: every error, usage errors included, is one JSON object
//! on stderr with `kind`, `message` and `code`.

use crate::support as common;

use common::{stderr, stdout, Sandbox};
use serde_json::Value;

/// The one JSON error object of a failed run; stdout empty.
fn error_object(out: &std::process::Output) -> Value {
    assert!(!out.status.success());
    assert_eq!(stdout(out), "", "nothing on stdout");
    let text = stderr(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {text}");
    let value: Value = serde_json::from_str(lines[0]).expect("stderr is JSON");
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "kind", "message"], "{value}");
    value
}

// What clap refuses (an unknown flag, a missing argument, an unknown command, a bad value) is
// an error object with --json, wherever --json stands, and keeps clap's text without it.
#[test]
fn usage_errors_under_json_are_error_objects() {
    let sb = Sandbox::new();
    for args in [
        &["--json", "ls", "--bogus"][..],
        &["inspect", "--json"],
        &["--json", "frobnicate"],
        &["--json", "tag"],
        &["--json", "--timeout", "0", "ls"],
    ] {
        let out = sb.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = error_object(&out);
        assert_eq!(err["kind"], "invalid_input", "{err}");
        assert_eq!(err["code"], 2, "{err}");
        let message = err["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.starts_with("error:"),
            "{err}"
        );
        assert!(!message.contains("Usage:"), "{err}");
    }
    let plain = sb.run(&["ls", "--bogus"]);
    assert_eq!(plain.status.code(), Some(2));
    assert!(
        stderr(&plain).starts_with("error: unexpected argument"),
        "{}",
        stderr(&plain)
    );
    // Help is still help.
    let help = sb.run(&["--json", "ls", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("Usage:"));
}

// A failure of the command itself is the same object.
#[test]
fn command_failures_under_json_are_error_objects() {
    let sb = Sandbox::new();
    let out = sb.run(&[
        "--json",
        "-r",
        &sb.registry(),
        "inspect",
        "nothing-here:1.0.0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = error_object(&out);
    assert_eq!(err["kind"], "not_found", "{err}");
}
