//! The settings file (`$XDG_CONFIG_HOME/packreg/config.toml`): precedence of flags, environment
//! and file as the binary applies it, `login` writing registry sections, and the move of the
//! old hosts file.

use crate::support as common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::registry::{Registry, Tls};
use common::{ok, pack, packreg_env, snapshot, stderr, Sandbox};
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const SETTINGS_VARS: [&str; 4] = [
    "PACKREG_TIMEOUT",
    "PACKREG_CHUNK_SIZE",
    "PACKREG_CONCURRENCY",
    "PACKREG_REGISTRY",
];

fn config_path(sb: &Sandbox) -> PathBuf {
    sb.path(".config/packreg/config.toml")
}

fn write_config(sb: &Sandbox, text: &str) {
    let path = config_path(sb);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs packreg in the sandbox with exactly `env` among the settings variables.
fn run_env(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = sb.command();
    for var in SETTINGS_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).args(args).output().unwrap()
}

fn show(sb: &Sandbox, env: &[(&str, &str)], flags: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["config", "show"]);
    serde_json::from_str(&ok(&run_env(sb, env, &args))).unwrap()
}

#[test]
fn file_then_env_then_flag_decide_each_key() {
    let sb = Sandbox::new();
    let store = sb.path("from-file");
    write_config(
        &sb,
        &format!(
            "registry = \"oci:{}\"\ntimeout = 30\nconcurrency = 8\nchunk_size = 32\n",
            store.display()
        ),
    );
    let file = format!("file {}", config_path(&sb).display());

    let shown = show(&sb, &[], &[]);
    for key in ["registry", "timeout", "concurrency", "chunkSize"] {
        assert_eq!(shown[key]["source"], file.as_str(), "{key}: {shown}");
    }
    assert_eq!(shown["timeout"]["value"], 30);
    assert_eq!(shown["concurrency"]["value"], 8);

    let env = [
        ("PACKREG_TIMEOUT", "7"),
        ("PACKREG_CONCURRENCY", "2"),
        ("PACKREG_CHUNK_SIZE", "5"),
    ];
    let shown = show(&sb, &env, &[]);
    assert_eq!(shown["timeout"]["value"], 7);
    assert_eq!(shown["timeout"]["source"], "env PACKREG_TIMEOUT");
    assert_eq!(shown["concurrency"]["source"], "env PACKREG_CONCURRENCY");
    assert_eq!(shown["chunkSize"]["value"], 5);
    assert_eq!(shown["registry"]["source"], file.as_str());

    let shown = show(&sb, &env, &["--timeout", "3", "--chunk-size", "0"]);
    assert_eq!(shown["timeout"]["value"], 3);
    assert_eq!(shown["timeout"]["source"], "flag");
    assert_eq!(shown["chunkSize"]["value"], 0);
    assert_eq!(shown["chunkSize"]["source"], "flag");
    assert_eq!(shown["concurrency"]["source"], "env PACKREG_CONCURRENCY");

    let empty = Sandbox::new();
    let shown = show(&empty, &[], &[]);
    assert_eq!(shown["timeout"]["source"], "default");
    assert_eq!(shown["exists"], false);
}

/// As helm and oras take them: `30s`, `2m`, `1m30s`; plain seconds still work.
#[test]
fn the_timeout_is_a_duration_in_the_flag_the_variable_and_the_file() {
    let sb = Sandbox::new();
    write_config(&sb, "timeout = \"2m\"\n");
    assert_eq!(show(&sb, &[], &[])["timeout"]["value"], 120);
    let env = [("PACKREG_TIMEOUT", "1m30s")];
    assert_eq!(show(&sb, &env, &[])["timeout"]["value"], 90);
    assert_eq!(
        show(&sb, &env, &["--timeout", "45s"])["timeout"]["value"],
        45
    );
    assert_eq!(
        show(&sb, &env, &["--timeout", "10"])["timeout"]["value"],
        10
    );
    let out = run_env(&sb, &[], &["--timeout", "soon", "config", "show"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("such as 30s, 2m, 1m30s"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_registry_in_the_file_is_used_and_env_and_flag_win_over_it() {
    let sb = Sandbox::new();
    let (from_file, from_env, from_flag) = (sb.path("f"), sb.path("e"), sb.path("g"));
    write_config(
        &sb,
        &format!("registry = \"oci:{}\"\n", from_file.display()),
    );
    let probe = pack("probe");
    ok(&run_env(&sb, &[], &["push", s(&probe)]));
    let env_value = format!("oci:{}", from_env.display());
    ok(&run_env(
        &sb,
        &[("PACKREG_REGISTRY", &env_value)],
        &["push", s(&probe)],
    ));
    let flag_value = format!("oci:{}", from_flag.display());
    ok(&run_env(
        &sb,
        &[("PACKREG_REGISTRY", &env_value)],
        &["-r", &flag_value, "push", s(&probe)],
    ));
    for store in [&from_file, &from_env, &from_flag] {
        assert!(
            store
                .join("spectro-packs/archive/probe/index.json")
                .is_file(),
            "nothing pushed to {}",
            store.display()
        );
    }
    assert!(!sb.path(".local/share/packreg/store").exists());
}

#[test]
fn a_bad_value_is_one_sentence_naming_file_line_and_key() {
    let sb = Sandbox::new();
    write_config(&sb, "# mine\ntimeout = 30\nconcurrency = \"many\"\n");
    let out = run_env(&sb, &[], &["ls"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let expected = format!("{}:3: concurrency: expected", config_path(&sb).display());
    assert!(err.contains(&expected), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Commands that do not talk to a store do not read it.
    ok(&run_env(&sb, &[], &["validate", s(&pack("probe"))]));

    let bad_env = run_env(
        &Sandbox::new(),
        &[("PACKREG_TIMEOUT", "soon")],
        &["config", "show"],
    );
    assert_eq!(bad_env.status.code(), Some(2));
    assert!(stderr(&bad_env).contains("PACKREG_TIMEOUT=\"soon\""));
    // As when clap read the variable: a usage error of any command using a store.
    let bad_env = run_env(&Sandbox::new(), &[("PACKREG_CHUNK_SIZE", "-1")], &["ls"]);
    assert_eq!(bad_env.status.code(), Some(2), "{}", stderr(&bad_env));
    assert!(stderr(&bad_env).contains("PACKREG_CHUNK_SIZE=\"-1\""));
}

#[test]
fn config_show_lists_every_setting_and_variable_with_its_source() {
    let sb = Sandbox::new();
    write_config(
        &sb,
        "registry = \"lab.example:5000/team\"\n[registries.\"lab.example:5000\"]\nplain_http = true\n",
    );
    let env = [
        ("PACKREG_PAGE_SIZE", "5"),
        ("PACKREG_MAX_ENTRIES", "77"),
        ("PACKREG_FORMAT", "palette"),
    ];
    let shown = show(&sb, &env, &[]);
    let section = format!(
        "file {} [registries.\"lab.example:5000\"]",
        config_path(&sb).display()
    );
    assert_eq!(shown["scheme"]["value"], "http", "{shown}");
    assert_eq!(shown["scheme"]["source"], section.as_str());
    assert_eq!(shown["insecure"]["source"], "default");
    assert_eq!(shown["pageSize"]["value"], 5);
    assert_eq!(shown["pageSize"]["source"], "env PACKREG_PAGE_SIZE");
    assert_eq!(shown["format"]["value"], "palette");
    assert_eq!(shown["format"]["source"], "env PACKREG_FORMAT");
    let entries = &shown["limits"]["PACKREG_MAX_ENTRIES"];
    assert_eq!(entries["value"], 77);
    assert_eq!(entries["source"], "env PACKREG_MAX_ENTRIES");
    assert_eq!(
        shown["limits"]["PACKREG_MAX_UNPACK_RATIO"]["source"],
        "default"
    );
    assert_eq!(shown["cacheDir"]["source"], "env XDG_CACHE_HOME");
    assert_eq!(shown["dataDir"]["source"], "env XDG_DATA_HOME");
    assert_eq!(shown["registryConfig"]["source"], "env DOCKER_CONFIG");
    assert_eq!(shown["refreshCapabilities"]["source"], "default");

    // Flags replace the section's TLS settings, and name themselves.
    let flags = [
        "--insecure",
        "--refresh-capabilities",
        "--registry-config",
        "d.json",
    ];
    let shown = show(&sb, &env, &flags);
    assert_eq!(shown["scheme"]["value"], "https");
    assert_eq!(shown["scheme"]["source"], "flag");
    assert_eq!(shown["insecure"]["value"], true);
    assert_eq!(shown["refreshCapabilities"]["source"], "flag");
    assert_eq!(shown["registryConfig"]["value"], "d.json");
    assert_eq!(shown["registryConfig"]["source"], "flag");

    // The text lists the same, one line a setting, every PACKREG_* variable included.
    let text = ok(&run_env(&sb, &env, &["config", "show"]));
    for line in [
        "page_size    5",
        "env PACKREG_PAGE_SIZE",
        "max_entries  77",
        "env PACKREG_MAX_ENTRIES",
        "max_unpack_ratio",
        "max_unpacked_bytes",
        "max_tar_header_bytes",
        "format       palette",
        "scheme       http",
        "cache_dir",
        "data_dir",
        "registry_config",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
}

fn login(sb: &Sandbox, reg: &Registry, flags: &[&str]) -> Output {
    let mut args = vec!["-v", "login", &reg.addr, "-u", "alice", "--password-stdin"];
    args.extend_from_slice(flags);
    sb.run_with_stdin(&args, Some("secret-pw\n"))
}

const PROBED: &str = "answers in plain HTTP";

#[test]
fn login_writes_the_section_that_later_commands_use() {
    require_peers!("docker-registry", "htpasswd");
    let reg = Registry::start(Tls::None, Some(("alice", "secret-pw")));
    let sb = Sandbox::new();
    write_config(&sb, "# my settings\ntimeout = 30 # slow link\n");
    let out = login(&sb, &reg, &["--plain-http"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(config_path(&sb)).unwrap();
    let header = format!("[registries.\"{}\"]", reg.addr);
    assert!(text.contains(&header), "{text}");
    assert!(text.contains("plain_http = true"), "{text}");
    assert!(
        text.starts_with("# my settings\ntimeout = 30 # slow link\n"),
        "{text}"
    );

    // No flag: the section says plain HTTP, so the loopback probe is not even needed.
    let ls = run_env(&sb, &[], &["-v", "-r", &reg.addr, "ls"]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert!(!stderr(&ls).contains(PROBED), "{}", stderr(&ls));
    let shown = show(&sb, &[], &[]);
    assert_eq!(shown["registries"][&reg.addr]["plainHttp"], true);

    // Without the section the same command probes: the check above can tell.
    write_config(&sb, "timeout = 30\n");
    let ls = run_env(&sb, &[], &["-v", "-r", &reg.addr, "ls"]);
    assert!(stderr(&ls).contains(PROBED), "{}", stderr(&ls));
}

#[test]
fn login_remembers_a_ca_file_and_the_section_replaces_the_flag() {
    require_peers!("docker-registry", "htpasswd", "openssl");
    let reg = Registry::start(Tls::SelfSigned, Some(("alice", "secret-pw")));
    let ca = reg.ca.clone().unwrap();
    let sb = Sandbox::new();
    let out = login(&sb, &reg, &["--ca-file", s(&ca)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = show(&sb, &[], &[]);
    let section = &shown["registries"][&reg.addr];
    assert_eq!(section["plainHttp"], false, "{shown}");
    let remembered = std::fs::canonicalize(&ca).unwrap();
    assert_eq!(section["caFile"], s(&remembered), "{shown}");
    ok(&run_env(&sb, &[], &["-r", &reg.addr, "ls"]));

    // The same command fails once the section is gone: the file was what made it work.
    std::fs::remove_file(config_path(&sb)).unwrap();
    let out = run_env(&sb, &[], &["-r", &reg.addr, "ls"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
}

#[test]
fn the_old_hosts_file_is_moved_once_and_then_no_longer_read() {
    require_peers!("docker-registry", "openssl");
    let reg = Registry::start(Tls::SelfSigned, None);
    let ca = reg.ca.clone().unwrap();
    let sb = Sandbox::new();
    // The file as the old `login` wrote it (serde_json pretty, camelCase, defaults left out).
    let dir = sb.path(".config/packreg");
    std::fs::create_dir_all(&dir).unwrap();
    let old = serde_json::json!({ reg.addr.clone(): { "caFile": ca } });
    std::fs::write(
        dir.join("hosts.json"),
        serde_json::to_vec_pretty(&old).unwrap(),
    )
    .unwrap();
    write_config(&sb, "# kept\nconcurrency = 2\n");

    let first = run_env(&sb, &[], &["-r", &reg.addr, "ls"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let note = stderr(&first);
    assert!(
        note.contains("hosts.json") && note.contains("hosts.json.migrated"),
        "{note}"
    );
    assert!(!dir.join("hosts.json").exists());
    assert!(dir.join("hosts.json.migrated").is_file());
    let text = std::fs::read_to_string(config_path(&sb)).unwrap();
    assert!(text.starts_with("# kept\nconcurrency = 2\n"), "{text}");
    assert!(
        text.contains(&format!("[registries.\"{}\"]", reg.addr)),
        "{text}"
    );
    assert!(
        text.contains(&format!("ca_file = \"{}\"", ca.display())),
        "{text}"
    );

    // Said once: the second run is silent and still uses the moved setting.
    let second = run_env(&sb, &[], &["-r", &reg.addr, "ls"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        !stderr(&second).contains("hosts.json"),
        "{}",
        stderr(&second)
    );

    // With the section removed, the renamed old file is not read: the registry's certificate
    // is no longer trusted.
    write_config(&sb, "concurrency = 2\n");
    let third = run_env(&sb, &[], &["-r", &reg.addr, "ls"]);
    assert_eq!(third.status.code(), Some(1), "{}", stderr(&third));
    assert!(stderr(&third).contains("certificate"), "{}", stderr(&third));
}

#[test]
fn a_section_can_turn_chunked_uploads_off_for_one_registry() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let big = common::pack_with_version(&sb.path("big"), "hello-manifests", "1.0.0");
    common::write_random(&big.join("payload.bin"), 20 << 20);
    write_config(
        &sb,
        &format!(
            "chunk_size = 4\n[registries.\"{}\"]\nplain_http = true\nchunk_size = 0\n",
            reg.addr
        ),
    );
    ok(&run_env(&sb, &[], &["-r", &reg.addr, "push", s(&big)]));
    let patches = |log: &str| log.lines().filter(|l| l.contains("\"PATCH /v2/")).count();
    assert_eq!(
        patches(&reg.log()),
        0,
        "chunked although the section says 0"
    );

    // The top-level value applies to a registry without a section of its own.
    let other = Registry::start(Tls::None, None);
    ok(&run_env(&sb, &[], &["-r", &other.addr, "push", s(&big)]));
    assert!(patches(&other.log()) >= 5, "{}", other.log());
}

#[test]
fn embedded_default_store_and_env_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let env = [("XDG_DATA_HOME", data.as_path()), ("HOME", tmp.path())];
    ok(&packreg_env(
        Some(&work),
        &env,
        &["push", s(&pack("probe"))],
    ));
    assert!(data
        .join("packreg/store/spectro-packs/archive/probe/index.json")
        .is_file());
    ok(&packreg_env(Some(&work), &env, &["pull", "probe"]));
    assert_eq!(
        snapshot(&work.join("probe-0.1.0")),
        snapshot(&pack("probe"))
    );

    let other = tmp.path().join("other");
    let reg = format!("oci:{}", other.display());
    let out = common::packreg_command(tmp.path())
        .args(["push", s(&pack("probe"))])
        .env("PACKREG_REGISTRY", &reg)
        .env("PACKREG_FORMAT", "palette")
        .output()
        .unwrap();
    ok(&out);
    assert!(other
        .join("spectro-packs/archive/probe/index.json")
        .is_file());
    let ls: Value = serde_json::from_str(&ok(&common::packreg_command(tmp.path())
        .args(["ls", "--json"])
        .env("PACKREG_REGISTRY", &reg)
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(ls[0]["format"], "palette");
}

/// `--ca-file` and a section's `ca_file` are read only when they are small regular files:
/// `/dev/zero` once made packreg read gigabytes.
#[test]
fn a_ca_file_that_is_not_a_small_regular_file_is_refused_naming_it() {
    let sb = Sandbox::new();
    let started = std::time::Instant::now();
    let out = run_env(
        &sb,
        &[],
        &["--ca-file", "/dev/zero", "-r", "127.0.0.1:1", "ls"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/dev/zero: the CA certificate is not a regular file"),
        "{}",
        stderr(&out)
    );
    let big = sb.path("big.pem");
    std::fs::write(&big, vec![b'-'; (1 << 20) + 1]).unwrap();
    write_config(
        &sb,
        &format!("[registries.\"127.0.0.1:1\"]\nca_file = \"{}\"\n", s(&big)),
    );
    let out = run_env(&sb, &[], &["-r", "127.0.0.1:1", "ls"]);
    assert!(
        stderr(&out).contains("big.pem: the CA certificate is larger than 1 MiB"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn the_minimum_rate_and_the_retry_budget_are_settings_with_their_sources() {
    let sb = Sandbox::new();
    let shown = show(&sb, &[], &[]);
    assert_eq!(shown["minRate"]["value"], 1);
    assert_eq!(shown["retryBudget"]["value"], 300);
    assert_eq!(shown["retryBudget"]["source"], "default");
    write_config(&sb, "min_rate = 4\nretry_budget = 30\n");
    let file = format!("file {}", config_path(&sb).display());
    let shown = show(&sb, &[("PACKREG_RETRY_BUDGET", "20")], &["--min-rate", "0"]);
    assert_eq!(shown["minRate"]["value"], 0);
    assert_eq!(shown["minRate"]["source"], "flag");
    assert_eq!(shown["retryBudget"]["value"], 20);
    assert_eq!(shown["retryBudget"]["source"], "env PACKREG_RETRY_BUDGET");
    let shown = show(&sb, &[], &[]);
    assert_eq!(shown["minRate"]["source"], file.as_str());
    let text = ok(&run_env(&sb, &[], &["config", "show"]));
    assert!(
        text.contains("min_rate") && text.contains("4 KiB/s"),
        "{text}"
    );
    assert!(
        text.contains("retry_budget") && text.contains("30 s"),
        "{text}"
    );
    let bad = run_env(&sb, &[("PACKREG_MIN_RATE", "fast")], &["config", "show"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// The retry budget is written as the timeout is: a duration (`5m`, `90s`) or seconds, in the
/// flag, the variable and the file; 0 still means no retries.
#[test]
fn the_retry_budget_is_a_duration_in_the_flag_the_variable_and_the_file() {
    let sb = Sandbox::new();
    let budget = |env: &[(&str, &str)], flags: &[&str]| {
        show(&sb, env, flags)["retryBudget"]["value"].clone()
    };
    assert_eq!(budget(&[], &["--retry-budget", "2m"]), 120);
    assert_eq!(budget(&[], &["--retry-budget", "0"]), 0);
    assert_eq!(budget(&[("PACKREG_RETRY_BUDGET", "1m30s")], &[]), 90);
    write_config(&sb, "retry_budget = \"10m\"\n");
    assert_eq!(budget(&[], &[]), 600);
    let bad = run_env(&sb, &[], &["--retry-budget", "soon", "config", "show"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("0 for no retries"),
        "{}",
        stderr(&bad)
    );
    write_config(&sb, "retry_budget = \"1.5s\"\n");
    let bad = run_env(&sb, &[], &["config", "show"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("retry_budget"), "{}", stderr(&bad));
}
