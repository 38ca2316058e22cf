//! `packreg login <HOST>` and `packreg logout <HOST>`.

use std::io::Read;
use std::process::ExitCode;

use packreg::auth::{remove_credential, store_credential, Secret};
use packreg::config::{RegistryKey, RegistrySection};
use packreg::name::split_registry;
use packreg::store::remote::RemoteStore;

use super::{Cli, Failure, Output};

/// Arguments of `login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The registry host[:port].
    pub host: String,
    /// User name.
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (visible in the process list and shell history: prefer --password-stdin).
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,
}

/// Arguments of `logout`.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry host[:port].
    pub host: String,
}

pub fn login(args: &LoginArgs, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    let (host, _) = split_registry(&args.host).map_err(|e| Failure {
        message: e.to_string(),
        code: 2,
        kind: super::failure::Kind::InvalidInput,
    })?;
    let username = args.username.clone().ok_or_else(|| Failure {
        message: format!("give the user name for {host} with -u USER"),
        code: 2,
        kind: super::failure::Kind::InvalidInput,
    })?;
    let password = if args.password_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            Failure::new(format!("cannot read the password from standard input: {e}"))
        })?;
        text.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = &args.password {
        eprintln!(
            "warning: using --password on the command line is insecure; use --password-stdin"
        );
        p.clone()
    } else {
        return Err(Failure {
            message: "give the password with --password-stdin (or -p PASSWORD)".into(),
            code: 2,
            kind: super::failure::Kind::InvalidInput,
        });
    };
    if password.is_empty() {
        return Err(Failure {
            message: "the password is empty".into(),
            code: 2,
            kind: super::failure::Kind::InvalidInput,
        });
    }
    let password = Secret::new(password);

    // Check the credentials against the registry before storing them, with a private config
    // that holds only them.
    let check_dir = tempfile::tempdir().map_err(|e| Failure::new(e.to_string()))?;
    let check_config = check_dir.path().join("config.json");
    store_credential(&host, &username, &password, Some(&check_config))
        .map_err(|e| super::advice::auth_failure(&e))?;
    let opts = cli.store_options(out)?.with_credential_file(check_config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))?;
    let scheme = runtime
        .block_on(async {
            let store = RemoteStore::connect(&host, &opts).await?;
            store.check_access().await?;
            Ok::<_, packreg::store::StoreError>(store.scheme())
        })
        .map_err(Failure::from)?;
    drop(check_dir);

    let docker_config = super::config::docker_config(cli);
    let written = store_credential(&host, &username, &password, docker_config.as_deref())
        .map_err(|e| super::advice::auth_failure(&e))?;
    remember(&host, scheme, cli, out);
    if out.json {
        out.print_json(
            &serde_json::json!({ "host": host, "username": username, "stored": written }),
        );
    } else {
        out.status(format!(
            "Login succeeded for {username} at {host} (credentials stored in {written})"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes how `host` was reached into its section of the settings file: always whether it
/// speaks plain HTTP; the TLS settings only when flags gave them (flags replace the section's
/// TLS settings then, as they did for this connection). Other keys of the file stay.
fn remember(host: &str, scheme: packreg::name::Scheme, cli: &Cli, out: &Output) {
    let Some(path) = super::config::file_path() else {
        return;
    };
    let flags = cli.plain_http || cli.insecure || cli.ca_file.is_some();
    let mut set = RegistrySection {
        plain_http: Some(scheme == packreg::name::Scheme::Http),
        ..RegistrySection::default()
    };
    let mut remove = Vec::new();
    if flags {
        set.insecure = cli.insecure.then_some(true);
        set.ca_file = cli
            .ca_file
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
        remove.extend([RegistryKey::Insecure, RegistryKey::CaFile]);
    }
    if let Err(e) = packreg::config::file::update_registry(&path, host, &set, &remove) {
        out.warnings(&[format!(
            "could not remember the connection settings of {host}: {e}"
        )]);
    }
}

pub fn logout(args: &LogoutArgs, cli: &Cli, out: &Output) -> Result<ExitCode, Failure> {
    let (host, _) = split_registry(&args.host).map_err(|e| Failure {
        message: e.to_string(),
        code: 2,
        kind: super::failure::Kind::InvalidInput,
    })?;
    let docker_config = super::config::docker_config(cli);
    let removed = remove_credential(&host, docker_config.as_deref())
        .map_err(|e| super::advice::auth_failure(&e))?;
    if out.json {
        out.print_json(&serde_json::json!({ "host": host, "removed": removed }));
    } else if removed {
        out.status(format!("Removed the credentials of {host}"));
    } else {
        out.status(format!("No credentials stored for {host}"));
    }
    Ok(ExitCode::SUCCESS)
}
