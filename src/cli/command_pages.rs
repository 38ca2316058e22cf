//! The reference pages of docs/commands/: one Markdown page per command, written from the same
//! clap definitions as `--help` and the man pages (`packreg man`), and named as the man pages
//! are (`packreg-tag-add.md` beside `packreg-tag-add.1`). The test below fails when a checked-in
//! page differs from what the definitions give, so the pages cannot drift from `--help`.
//!
//! Rewrite them after changing a command's help: `PACKREG_BLESS=1 cargo test --bin packreg
//! command_pages`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::{Arg, Command, CommandFactory};

use super::Cli;

/// Every page, by file name, for the command tree as `packreg man` builds it.
pub fn pages() -> BTreeMap<String, String> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building names each subcommand `packreg-<name>` (the page names) and copies the global
    // options into every subcommand, as `--help` shows them.
    cmd.build();
    let mut pages = BTreeMap::new();
    collect(&cmd, true, &mut pages);
    pages
}

fn collect(cmd: &Command, root: bool, pages: &mut BTreeMap<String, String>) {
    pages.insert(file_name(cmd), page(cmd, root));
    for sub in visible_subcommands(cmd) {
        collect(sub, false, pages);
    }
}

fn visible_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

/// `packreg-tag-add.md`: the man page's name.
fn file_name(cmd: &Command) -> String {
    format!("{}.md", cmd.get_display_name().unwrap_or(cmd.get_name()))
}

/// `packreg tag add`: the command as typed.
fn typed_name(cmd: &Command) -> String {
    cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string()
}

/// The page of `cmd`; the root's lists the global options, which the others link to.
fn page(cmd: &Command, root: bool) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "<!-- Generated from the clap definitions in src/cli/; do not edit. Rewrite with\n     PACKREG_BLESS=1 cargo test --bin packreg command_pages -->\n"
    );
    let _ = writeln!(text, "# `{}`\n", typed_name(cmd));
    let about = cmd.get_long_about().or(cmd.get_about());
    if let Some(about) = about {
        let _ = writeln!(text, "{}\n", markdown(&about.to_string()));
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage);
    let _ = writeln!(text, "```text\n{}\n```\n", usage.trim_end());

    let subcommands: Vec<&Command> = visible_subcommands(cmd).collect();
    if !subcommands.is_empty() {
        let _ = writeln!(text, "## Commands\n");
        for sub in subcommands {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            let _ = writeln!(
                text,
                "- [`{}`]({}): {}",
                typed_name(sub),
                file_name(sub),
                markdown(&about)
            );
        }
        text.push('\n');
    }

    let shown = |a: &&Arg| !a.is_hide_set() && (root || !a.is_global_set());
    let positionals: Vec<&Arg> = cmd.get_positionals().filter(shown).collect();
    if !positionals.is_empty() {
        let _ = writeln!(text, "## Arguments\n");
        for arg in positionals {
            let _ = writeln!(text, "{}", item(arg));
        }
        text.push('\n');
    }
    // In the order of the definitions, as `--help` lists them.
    let named: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_positional())
        .filter(shown)
        .collect();
    let title = if root { "Global options" } else { "Options" };
    if !named.is_empty() {
        let _ = writeln!(text, "## {title}\n");
        for arg in named {
            let _ = writeln!(text, "{}", item(arg));
        }
        text.push('\n');
    }
    if !root {
        let _ = writeln!(
            text,
            "The [global options](packreg.md#global-options) apply too.\n"
        );
    }
    let mut text = text.trim_end().to_string();
    text.push('\n');
    text
}

/// One argument as a list item: its name and value, its help, its values, default and
/// variable.
fn item(arg: &Arg) -> String {
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("--{long}"));
    }
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let value_names: Vec<String> = arg
        .get_value_names()
        .map(|v| v.iter().map(|n| n.to_string()).collect())
        .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()]);
    let value = value_names
        .iter()
        .map(|v| format!("<{v}>"))
        .collect::<Vec<_>>()
        .join(" ");
    let repeated = matches!(arg.get_action(), clap::ArgAction::Append)
        || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
    let mut name = if arg.is_positional() {
        value
    } else if takes_value {
        format!("{} {value}", names.join(", "))
    } else {
        names.join(", ")
    };
    if repeated && (arg.is_positional() || takes_value) {
        name.push_str("...");
    }
    let mut line = format!("- `{name}`");
    let help = arg.get_long_help().or(arg.get_help());
    if let Some(help) = help {
        // Later paragraphs are indented to stay in the list item; blank lines stay empty.
        let help: Vec<String> = markdown(&help.to_string())
            .lines()
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("  {l}")
                }
            })
            .collect();
        let _ = write!(line, ": {}", help.join("\n").trim_start());
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| match v.get_help() {
            Some(help) => format!("`{}` ({})", v.get_name(), markdown(&help.to_string())),
            None => format!("`{}`", v.get_name()),
        })
        .collect();
    let mut facts = Vec::new();
    if !values.is_empty() && takes_value {
        facts.push(format!("values: {}", values.join(", ")));
    }
    // A flag's implicit `false` is no default worth showing (`--help` does not either).
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .filter(|_| takes_value)
        .map(|d| format!("`{}`", d.to_string_lossy()))
        .collect();
    if !defaults.is_empty() {
        facts.push(format!("default: {}", defaults.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        facts.push(format!("environment: `{}`", env.to_string_lossy()));
    }
    if arg.is_required_set() && !arg.is_positional() {
        facts.push("required".into());
    }
    if !facts.is_empty() {
        let _ = write!(line, " ({})", facts.join("; "));
    }
    line
}

/// Help text as Markdown: `<` outside code spans is escaped, so `<name>` shows as typed instead
/// of vanishing as an HTML tag.
fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.trim().chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => out.push_str("&lt;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The checked-in pages are exactly what the clap definitions give, and no page is left
    /// for a command that is gone. `option_env!` rather than a read at run time: cargo rebuilds
    /// the test when PACKREG_BLESS changes, and the library's rule that only `config/` reads
    /// the environment stays simple to check.
    #[test]
    fn command_pages_match_the_clap_definitions() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/commands");
        let pages = super::pages();
        let bless = option_env!("PACKREG_BLESS").is_some_and(|v| !v.is_empty() && v != "0");
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
        }
        let mut stale = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".md") && !pages.contains_key(&name) {
                if bless {
                    std::fs::remove_file(&path).unwrap();
                } else {
                    stale.push(name);
                }
            }
        }
        let mut differ = Vec::new();
        for (name, text) in &pages {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
                continue;
            }
            if bless {
                std::fs::write(&path, text).unwrap();
            } else {
                differ.push(name.clone());
            }
        }
        assert!(
            stale.is_empty() && differ.is_empty(),
            "docs/commands/ is out of date with the clap definitions (differ or missing: \
             {differ:?}; no such command: {stale:?}); rewrite the pages with \
             `PACKREG_BLESS=1 cargo test --bin packreg command_pages`"
        );
    }

    #[test]
    fn angle_brackets_outside_code_are_escaped() {
        assert_eq!(
            super::markdown("push to a/<name> or `b/<name>`"),
            "push to a/&lt;name> or `b/<name>`"
        );
    }
}
