//! `packreg man [-o DIR]`: a man page per command (`packreg.1`, `packreg-push.1`,
//! `packreg-tag-add.1`, ...), each with a synopsis naming every option's value, and the exit
//! status, environment, files and examples sections clap does not write.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, Command, CommandFactory};
use packreg::config::defaults::*;
use packreg::limits::{
    ENV_MAX_ENTRIES, ENV_MAX_TAR_HEADER_BYTES, ENV_MAX_UNPACKED_BYTES, ENV_MAX_UNPACK_RATIO,
};

use super::{Cli, Failure, Output};

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write the pages into (created if needed).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
}

pub fn run(args: &Args, out: &Output) -> Result<ExitCode, Failure> {
    let dir = &args.output;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::new(format!("{}: cannot create the folder: {e}", dir.display())))?;
    let mut written = Vec::new();
    for (name, page) in pages() {
        let path = dir.join(name);
        std::fs::write(&path, page).map_err(|e| {
            Failure::new(format!("{}: cannot write a man page: {e}", path.display()))
        })?;
        written.push(path);
    }
    if out.json {
        out.print_json(&written);
    } else {
        for path in &written {
            out.status(path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every page, by file name, subcommands first.
fn pages() -> Vec<(String, Vec<u8>)> {
    // Building the command names each subcommand `packreg-<name>`, the pages' names, and
    // copies the global options into each.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    collect(&cmd, true, &mut pages);
    pages
}

fn collect(cmd: &Command, root: bool, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, false, pages);
    }
    let man = clap_mangen::Man::new(cmd.clone().override_usage(synopsis(cmd, root)));
    let mut page = Vec::new();
    // Rendering into memory cannot fail.
    let _ = man.render(&mut page);
    page.extend_from_slice(extra_sections(cmd, root).as_bytes());
    pages.push((man.get_filename(), page));
}

/// `packreg push [--format native|palette] [--force] ... [GLOBAL OPTIONS] <PACK_DIR>`: every
/// option with its value (clap_mangen's own synopsis leaves the values out).
fn synopsis(cmd: &Command, root: bool) -> String {
    let mut words = vec![cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string()];
    let mut globals = false;
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
    {
        if arg.is_global_set() && !root {
            globals = true;
        } else {
            words.push(option_word(arg));
        }
    }
    if globals {
        words.push("[GLOBAL OPTIONS]".into());
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let name = value_of(arg);
        let repeated = if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            "..."
        } else {
            ""
        };
        words.push(if arg.is_required_set() {
            format!("{name}{repeated}")
        } else {
            format!("[{name}]{repeated}")
        });
    }
    if cmd.has_subcommands() {
        words.push("<COMMAND>".into());
    }
    words.join(" ")
}

fn option_word(arg: &Arg) -> String {
    let flag = match (arg.get_short(), arg.get_long()) {
        (Some(short), Some(long)) => format!("-{short}|--{long}"),
        (Some(short), None) => format!("-{short}"),
        (None, Some(long)) => format!("--{long}"),
        (None, None) => arg.get_id().to_string(),
    };
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let value = if takes_value {
        format!(" {}", value_of(arg))
    } else {
        String::new()
    };
    let repeated = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
    let word = format!("{flag}{value}{}", if repeated { "..." } else { "" });
    if arg.is_required_set() {
        word
    } else {
        format!("[{word}]")
    }
}

/// `native|palette` for an enumerated value, else `<NAME>`.
fn value_of(arg: &Arg) -> String {
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() && !matches!(arg.get_action(), ArgAction::SetTrue) {
        return values.join("|");
    }
    let names: Vec<String> = match arg.get_value_names() {
        Some(names) => names.iter().map(|n| format!("<{n}>")).collect(),
        None => vec![format!("<{}>", arg.get_id().as_str().to_uppercase())],
    };
    names.join(" ")
}

/// EXIT STATUS, ENVIRONMENT, FILES and EXAMPLES, as roff.
fn extra_sections(cmd: &Command, root: bool) -> String {
    let mut roff = String::new();
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string();
    let one = if name == "packreg diff" {
        "the packs differ"
    } else {
        "failure (mirror and import: a conflict or a pack not copied; images --check: an image missing)"
    };
    let two = if name == "packreg diff" {
        "an error"
    } else {
        "a usage error or a bad setting"
    };
    let zero = if name == "packreg diff" {
        "the packs are identical"
    } else {
        "success"
    };
    section(
        &mut roff,
        "EXIT STATUS",
        &[
            ("0", zero),
            ("1", one),
            ("2", two),
            (
                "130",
                "interrupted (Ctrl-C); nothing half-written is left in place",
            ),
            ("143", "terminated (SIGTERM), as after Ctrl-C"),
        ],
    );
    let environment: Vec<(&str, &str)> = vec![
        (REGISTRY_ENV, "the registry or store used without -r"),
        (
            TIMEOUT_ENV,
            "the idle timeout of registry requests (30s, 2m, or seconds)",
        ),
        (CONCURRENCY_ENV, "blobs moved at once (1 to 64)"),
        (CHUNK_SIZE_ENV, "the upload chunk size in MiB (0: never)"),
        (PAGE_SIZE_ENV, "entries asked per listing page"),
        (FORMAT_ENV, "the format push writes (native or palette)"),
        (ENV_MAX_UNPACKED_BYTES, "uncompressed bytes of a layer"),
        (
            ENV_MAX_UNPACK_RATIO,
            "uncompressed bytes per compressed byte of a layer",
        ),
        (ENV_MAX_ENTRIES, "tar headers per archive"),
        (
            ENV_MAX_TAR_HEADER_BYTES,
            "data of one long-name or PAX header",
        ),
        (
            DOCKER_CONFIG_ENV,
            "the folder of docker's config.json, with the credentials",
        ),
        (XDG_CONFIG_HOME_ENV, "the base of the settings folder"),
        (XDG_CACHE_HOME_ENV, "the base of the cache folder"),
        (
            XDG_DATA_HOME_ENV,
            "the base of the data folder (the embedded store)",
        ),
        (HOME_ENV, "where the folders are without the XDG variables"),
        (
            "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
            "the proxies, as curl reads them",
        ),
        ("RUST_LOG", "the log filter, without -v"),
    ];
    section(&mut roff, "ENVIRONMENT", &environment);
    section(
        &mut roff,
        "FILES",
        &[
            (
                "$XDG_CONFIG_HOME/packreg/config.toml",
                "the settings (else ~/.config/packreg/config.toml), with a [registries.\"host:port\"] section per registry",
            ),
            (
                "$DOCKER_CONFIG/config.json",
                "the credentials (else ~/.docker/config.json), as docker login writes them",
            ),
            (
                "/etc/docker/certs.d/HOST:PORT/, ~/.docker/certs.d/HOST:PORT/",
                "CA certificates (*.crt) and a client certificate (*.cert with its *.key) per registry",
            ),
            (
                "$XDG_CACHE_HOME/packreg/",
                "what packreg learned of each registry, upload sessions and partial downloads (else ~/.cache/packreg/)",
            ),
            (
                "$XDG_DATA_HOME/packreg/store",
                "the embedded store used without a registry (else ~/.local/share/packreg/store)",
            ),
        ],
    );
    let examples = examples(&name, root);
    if !examples.is_empty() {
        roff.push_str(".SH EXAMPLES\n");
        for (command, what) in examples {
            roff.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                escape(command),
                escape(what)
            ));
        }
    }
    roff
}

fn section(roff: &mut String, title: &str, items: &[(&str, &str)]) {
    roff.push_str(&format!(".SH \"{title}\"\n"));
    for (term, text) in items {
        roff.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            escape(term),
            escape(text)
        ));
    }
}

/// Text as roff takes it: backslashes and hyphens escaped, and a line that would start with a
/// control character protected.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}

/// Examples of one command (the root page: a task from start to end).
fn examples(name: &str, root: bool) -> Vec<(&'static str, &'static str)> {
    if root {
        return vec![
            (
                "packreg validate ./shop-pack",
                "check a pack folder, naming every problem",
            ),
            (
                "packreg login registry.example.com -u me --password-stdin < pw.txt",
                "store credentials",
            ),
            (
                "packreg -r registry.example.com/team push ./shop-pack",
                "push spectro-packs/archive/shop:<version>",
            ),
            (
                "packreg -r registry.example.com/team ls",
                "every pack and version",
            ),
            (
                "packreg -r registry.example.com/team export shop --with-images -o site.tar",
                "a bundle for an air-gapped site",
            ),
            (
                "packreg -r registry.site.lan import site.tar --with-images",
                "inside it",
            ),
        ];
    }
    match name.strip_prefix("packreg ").unwrap_or(name) {
        "validate" => vec![("packreg validate ./shop-pack", "check a pack folder")],
        "build" => vec![(
            "packreg build ./charts/shop ./shop-pack",
            "a pack from a Helm chart",
        )],
        "push" => vec![
            (
                "packreg -r registry.example.com/team push ./shop-pack",
                "validate and push",
            ),
            (
                "packreg -r registry.example.com/team push ./shop-pack --format palette",
                "as Palette's documented oras push",
            ),
        ],
        "pull" => vec![(
            "packreg -r registry.example.com/team pull shop:2.1.0 -o ./shop",
            "write a version into a folder",
        )],
        "ls" => vec![
            (
                "packreg -r registry.example.com/team ls",
                "every pack and version",
            ),
            (
                "packreg -r registry.example.com/team ls shop",
                "the versions of one pack",
            ),
        ],
        "inspect" => vec![(
            "packreg -r registry.example.com/team inspect shop:2.1.0",
            "digest, format, layers and pack.json",
        )],
        "rm" => vec![(
            "packreg -r registry.example.com/team rm shop:2.0.0",
            "delete one version",
        )],
        "logout" => vec![(
            "packreg logout registry.example.com",
            "remove the credentials",
        )],
        "tag rm" => vec![(
            "packreg -r registry.example.com/team tag rm shop:2.2.0 stable",
            "remove a label",
        )],
        "index" | "index verify" => vec![(
            "packreg -r registry.example.com/team index verify",
            "check the pack index",
        )],
        "config" => vec![(
            "packreg config show",
            "each setting in force and where it comes from",
        )],
        "tag" | "tag add" => vec![(
            "packreg -r registry.example.com/team tag add shop:2.2.0 stable -g channel",
            "label a version",
        )],
        "login" => vec![(
            "packreg login registry.example.com -u me --password-stdin < pw.txt",
            "check and store credentials",
        )],
        "mirror" => vec![
            (
                "packreg mirror registry.example.com/team registry.site.lan/team",
                "copy every pack",
            ),
            (
                "packreg mirror registry.example.com/team oci:/srv/packs shop --with-images",
                "one pack and its images",
            ),
            (
                "packreg mirror registry.example.com/team registry.site.lan/team --versions '>=2.1, <3' --latest 3",
                "the three highest 2.x versions from 2.1 on, with their labels",
            ),
        ],
        "doctor" => vec![
            (
                "packreg -r registry.example.com doctor",
                "what the registry supports",
            ),
            (
                "packreg doctor registry.example.com --write",
                "also what needs writing, in scratch repositories",
            ),
        ],
        "images" => vec![(
            "packreg -r registry.site.lan images shop --check registry.site.lan",
            "exit 0 when every image is there",
        )],
        "export" => vec![(
            "packreg -r registry.example.com/team export shop --with-images -o site.tar",
            "a bundle for an air gap",
        )],
        "import" => vec![(
            "packreg -r registry.site.lan import site.tar --with-images",
            "push a bundle's packs and images",
        )],
        "catalog" => vec![
            (
                "packreg -r registry.example.com/team catalog -o site/",
                "a browsable site of every pack: open site/index.html",
            ),
            (
                "packreg catalog --bundle site.tar -o arrived/",
                "what a bundle holds, at the air-gapped site",
            ),
        ],
        "diff" => vec![(
            "packreg -r registry.example.com/team diff shop:2.1.0 shop:2.2.0 --patch",
            "what changed, with unified diffs",
        )],
        "config show" => vec![(
            "packreg config show",
            "each setting in force and where it comes from",
        )],
        "index rebuild" => vec![(
            "packreg -r registry.example.com/team index rebuild shop web",
            "record the pack names",
        )],
        "completions" => vec![(
            "packreg completions bash > /usr/share/bash-completion/completions/packreg",
            "install bash completions",
        )],
        "man" => vec![(
            "packreg man -o /usr/local/share/man/man1",
            "install the man pages",
        )],
        "sign" => vec![
            (
                "packreg -r registry.example.com/team sign shop:1.2.0 --key cosign.key",
                "a cosign signature (password from $COSIGN_PASSWORD, else asked)",
            ),
            (
                "packreg -r registry.example.com/team sign shop:1.2.0 --key key.pem --cert chain.pem --format notation",
                "a Notary Project signature",
            ),
        ],
        "verify" => vec![
            (
                "packreg -r registry.example.com/team verify shop:1.2.0 --key cosign.pub",
                "exit 0 when a signature verifies with the key",
            ),
            (
                "packreg verify registry.example.com/team/spectro-packs/archive/shop:1.2.0 --trust-policy trustpolicy.json --trust-store ./truststore",
                "against a Notary Project trust policy",
            ),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(name: &str) -> String {
        let (_, page) = pages()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no page {name}"));
        String::from_utf8(page).unwrap()
    }

    #[test]
    fn the_synopsis_names_each_value() {
        let push = page("packreg-push.1");
        let synopsis = push
            .split(".SH SYNOPSIS")
            .nth(1)
            .and_then(|s| s.split(".SH").next())
            .unwrap();
        for word in [
            "[\\-\\-format native|palette]",
            "[\\-\\-message <MESSAGE>]",
            "[GLOBAL OPTIONS]",
            "<PACK_DIR>",
        ] {
            assert!(synopsis.contains(word), "{word} in {synopsis}");
        }
        let root = page("packreg.1");
        assert!(root.contains("[\\-\\-timeout <DURATION>]"), "{root}");
    }

    #[test]
    fn pages_carry_exit_status_environment_files_and_examples() {
        let push = page("packreg-push.1");
        for section in [
            ".SH \"EXIT STATUS\"",
            ".SH \"ENVIRONMENT\"",
            ".SH \"FILES\"",
            ".SH EXAMPLES",
            ".SH \"GLOBAL OPTIONS\"",
        ] {
            assert!(push.contains(section), "{section}");
        }
        assert!(push.contains("PACKREG_TIMEOUT"));
        assert!(push.contains("\\fB143\\fR"));
        assert!(page("packreg-diff.1").contains("the packs differ"));
        // Every command's page names at least one example.
        for (name, page) in pages() {
            assert!(
                String::from_utf8(page).unwrap().contains(".SH EXAMPLES"),
                "{name}"
            );
        }
    }

    #[test]
    fn help_shows_the_global_options_under_their_own_heading() {
        let mut cmd = Cli::command();
        cmd.build();
        let push = cmd.find_subcommand_mut("push").unwrap();
        let help = push.render_help().to_string();
        let (own, global) = help.split_once("Global options:").expect("a heading");
        assert!(
            own.contains("--format") && !own.contains("--timeout"),
            "{help}"
        );
        assert!(
            global.contains("--timeout <DURATION>") && !global.contains("--format"),
            "{help}"
        );
    }

    /// The trust flags have their own heading, and it does not take in the flags declared
    /// after them.
    #[test]
    fn help_shows_the_trust_flags_under_their_own_heading_and_only_them() {
        let mut cmd = Cli::command();
        cmd.build();
        let mirror = cmd.find_subcommand_mut("mirror").unwrap();
        let help = mirror.render_help().to_string();
        let (own, trust) = help.split_once("Signature trust:").expect("a heading");
        let trust = trust.split("Global options:").next().unwrap_or_default();
        assert!(
            own.contains("--versions") && own.contains("--fail-fast"),
            "{help}"
        );
        assert!(
            trust.contains("--verify-key") && !trust.contains("--versions"),
            "{help}"
        );
    }
}
