//! The library states facts; only the command line tells the user what to do in packreg's own
//! terms (src/cli/advice.rs). No string in src/store, src/ops, src/auth, src/pack or
//! src/artifact names a packreg command
//! (`packreg login`), one of its long flags (`--plain-http`) or one of its variables
//! (`PACKREG_TIMEOUT`); the commands and flags are taken from packreg's own `--help`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support as common;

/// packreg's command names (subcommands included) and long flags, from its `--help` pages.
fn cli_words() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut commands = BTreeSet::new();
    let mut flags = BTreeSet::new();
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = common::packreg(&args);
        assert!(out.status.success(), "packreg {args:?} failed");
        let help = common::stdout(&out);
        flags.extend(long_flags(&help));
        for name in subcommands(&help).into_iter().filter(|n| n != "help") {
            commands.insert(name.clone());
            let mut sub = path.clone();
            sub.push(name);
            pending.push(sub);
        }
    }
    (commands, flags)
}

/// The names listed under `Commands:` in a help page.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Every `--flag` in a help page.
fn long_flags(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for (i, _) in help.match_indices("--") {
        let name: String = help[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            flags.insert(format!("--{name}"));
        }
    }
    flags
}

/// The string literals of Rust source outside comments and the `#[cfg(test)] mod` at its end,
/// each with its line number.
fn string_literals(source: &str) -> Vec<(usize, String)> {
    let source = match source.find("#[cfg(test)]\nmod ") {
        Some(end) => &source[..end],
        None => source,
    };
    let chars: Vec<char> = source.chars().collect();
    let mut found = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        match chars[i] {
            '\n' => line += 1,
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\'' => {
                // A char literal ('"', '\''), not a lifetime: skip it whole.
                if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                    continue;
                }
                if chars.get(i + 1) == Some(&'\\') {
                    if let Some(end) = (i + 2..chars.len().min(i + 12)).find(|&j| chars[j] == '\'')
                    {
                        i = end + 1;
                        continue;
                    }
                }
            }
            '"' => {
                let (start, mut text) = (line, String::new());
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        text.push(chars[i]);
                        i += 1;
                    }
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    text.push(chars[i]);
                    i += 1;
                }
                found.push((start, text));
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Whether `text` holds `word` not followed by more of a name (`--force`, not `--forced`).
fn names(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        !text[i + word.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// What a string literal names of packreg's command line.
fn offences(text: &str, commands: &BTreeSet<String>, flags: &BTreeSet<String>) -> Vec<String> {
    let mut hits: Vec<String> = commands
        .iter()
        .map(|c| format!("packreg {c}"))
        .chain(flags.iter().cloned())
        .filter(|w| names(text, w))
        .collect();
    if text.contains("PACKREG_") {
        hits.push("PACKREG_*".into());
    }
    hits
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// No string of the store, the operations, credentials, packs or artifacts names a packreg
/// command, flag or variable.
#[test]
fn the_library_names_no_command_flag_or_variable() {
    let (commands, flags) = cli_words();
    assert!(
        commands.contains("login") && commands.contains("rebuild"),
        "{commands:?}"
    );
    assert!(
        flags.contains("--plain-http") && flags.contains("--force"),
        "{flags:?}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "src/store",
        "src/ops",
        "src/auth",
        "src/pack",
        "src/artifact",
        "src/sign",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "{files:?}");
    let mut found = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for (line, text) in string_literals(&source) {
            for hit in offences(&text, &commands, &flags) {
                found.push(format!(
                    "{}:{line}: {hit} in {text:?}",
                    file.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "say what to do in src/cli/advice.rs, from a typed error or Remedy:\n{}",
        found.join("\n")
    );
}

/// The scan finds a command, a flag and a variable in strings, and nothing in comments, char
/// literals or another tool's flags.
#[test]
fn the_scan_finds_what_it_must() {
    let commands: BTreeSet<String> = ["login".to_string(), "ls".into()].into();
    let flags: BTreeSet<String> = ["--force".to_string()].into();
    let source = r#"
// run `packreg login` with --force
let quote = '"';
let a = "run `packreg login HOST`";
let b = format!("{x}; pass --force\n to replace it");
let c = "aws --repository-name x; packreg lists; --forced";
let d = "raise PACKREG_TIMEOUT";
#[cfg(test)]
mod tests {
    const E: &str = "packreg ls";
}
"#;
    let hits: Vec<(usize, Vec<String>)> = string_literals(source)
        .into_iter()
        .map(|(line, text)| (line, offences(&text, &commands, &flags)))
        .filter(|(_, hits)| !hits.is_empty())
        .collect();
    assert_eq!(
        hits,
        vec![
            (4, vec!["packreg login".to_string()]),
            (5, vec!["--force".to_string()]),
            (7, vec!["PACKREG_*".to_string()]),
        ]
    );
}

/// Each way a connection fails is told apart, with the one thing to try: `--plain-http` only
/// where the registry does not speak TLS.
mod connection_failures {
    use crate::support as common;
    use common::registry::{Registry, Tls};

    /// The error sentence of `packreg ARGS ls`, which must fail.
    fn failure(args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.push("ls");
        let out = common::packreg(&all);
        assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
        common::stderr(&out)
    }

    #[test]
    fn an_unknown_host_says_so_and_does_not_suggest_plain_http() {
        let err = failure(&["-r", "nonexistent.invalid:5000", "--timeout", "5"]);
        assert!(err.contains("the host name does not resolve"), "{err}");
        assert!(err.contains("check the host name"), "{err}");
        assert!(!err.contains("--plain-http"), "{err}");
    }

    #[test]
    fn a_closed_port_says_nothing_accepts_connections() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = failure(&["-r", &format!("127.0.0.1:{port}")]);
        assert!(
            err.contains("nothing accepts connections on that port"),
            "{err}"
        );
        assert!(
            err.contains("check the port and that the registry is running"),
            "{err}"
        );
        assert!(!err.contains("--plain-http"), "{err}");
    }

    #[test]
    fn plain_http_to_a_tls_registry_says_to_leave_out_plain_http() {
        let reg = Registry::start(Tls::SelfSigned, None);
        let err = failure(&["-r", &reg.addr, "--plain-http"]);
        assert!(err.contains("speaks HTTPS on this port"), "{err}");
        assert!(err.contains("leave out --plain-http"), "{err}");
    }

    /// `login` checks `/v2/` itself: the same answer, not "HTTP 400 ... is this an OCI registry?".
    #[test]
    fn login_over_plain_http_to_a_tls_registry_says_to_leave_out_plain_http() {
        let reg = Registry::start(Tls::SelfSigned, None);
        let out = common::packreg(&["--plain-http", "login", &reg.addr, "-u", "u", "-p", "p"]);
        assert_eq!(out.status.code(), Some(1));
        let err = common::stderr(&out);
        assert!(err.contains("leave out --plain-http"), "{err}");
    }

    #[test]
    fn tls_to_a_plain_registry_suggests_plain_http() {
        let reg = Registry::start(Tls::None, None);
        let err = failure(&["-r", &reg.addr, "--insecure"]);
        assert!(err.contains("does not speak TLS on this port"), "{err}");
        assert!(err.contains("add --plain-http"), "{err}");
    }
}
