//! `packreg sign NAME[:TAG|@DIGEST] --key KEY [--format cosign|bundle|notation] [--cert CHAIN]`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use packreg::ops::signatures::{sign, SignRequest, SigningError};
use packreg::reference::PackRef;
use packreg::sign::{notation, PrivateKey, SignatureFormat};
use packreg::store::Store;

use super::failure::Kind;
use super::trust::read_user_file;
use super::{Failure, Output};

/// The signature formats, as the flag names them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// cosign's `sha256-<hex>.sig` tag (simple signing), what `cosign verify --key` reads.
    Cosign,
    /// cosign's sigstore bundle as an OCI 1.1 referrer.
    Bundle,
    /// A Notary Project (notation) JWS signature as a referrer; needs --cert.
    Notation,
}

/// Arguments of `sign`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version to sign: NAME (highest version), NAME:TAG or NAME@DIGEST in the store of
    /// -r, or a full reference REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST]. A tag is
    /// resolved once; its manifest digest is what is signed.
    pub reference: String,
    /// The private key: PKCS#8 PEM, or cosign's encrypted key file (password from
    /// $COSIGN_PASSWORD, else asked on the terminal).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The signature format.
    #[arg(long, value_enum, default_value = "cosign")]
    pub format: FormatArg,
    /// The key's certificate chain (PEM, leaf first), for --format notation.
    #[arg(long, value_name = "CHAIN")]
    pub cert: Option<PathBuf>,
}

fn password(args: &Args) -> Result<Option<Vec<u8>>, Failure> {
    if let Ok(password) = std::env::var(packreg::config::defaults::COSIGN_PASSWORD_ENV) {
        return Ok(Some(password.into_bytes()));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::with_kind(
            format!(
                "{}: the key is encrypted; set {} to its password",
                args.key.display(),
                packreg::config::defaults::COSIGN_PASSWORD_ENV
            ),
            Kind::InvalidInput,
        ));
    }
    rpassword::prompt_password(format!("Password for {}: ", args.key.display()))
        .map(|p| Some(p.into_bytes()))
        .map_err(|e| Failure::new(format!("cannot read the password: {e}")))
}

fn key_failure(args: &Args, e: packreg::sign::SignError) -> Failure {
    Failure::with_kind(format!("{}: {e}", args.key.display()), Kind::InvalidInput)
}

pub async fn run(
    args: &Args,
    pack_ref: &PackRef,
    store: &dyn Store,
    out: &Output,
) -> Result<ExitCode, Failure> {
    let pem = read_user_file(&args.key, "a private key file")?;
    let secret = if PrivateKey::is_encrypted(&pem) {
        password(args)?
    } else {
        None
    };
    let key = PrivateKey::from_pem(&pem, secret.as_deref()).map_err(|e| key_failure(args, e))?;
    let format = match args.format {
        FormatArg::Cosign => SignatureFormat::Cosign,
        FormatArg::Bundle => SignatureFormat::Bundle,
        FormatArg::Notation => SignatureFormat::Notation,
    };
    let chain = match &args.cert {
        Some(path) => {
            notation::read_chain(&read_user_file(path, "a certificate chain")?).map_err(|e| {
                Failure::with_kind(format!("{}: {e}", path.display()), Kind::InvalidInput)
            })?
        }
        None if matches!(format, SignatureFormat::Notation) => return Err(Failure::usage(
            "--format notation needs --cert CHAIN: the key's certificate chain (PEM, leaf first)",
        )),
        None => Vec::new(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let request = SignRequest {
        format,
        key: &key,
        chain: &chain,
        now,
    };
    let done = sign(store, pack_ref, &request).await.map_err(|e| match e {
        SigningError::Op(e) => Failure::from(e),
        SigningError::Sign(e) => key_failure(args, e),
    })?;
    if out.json {
        out.print_json(&done);
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if done.added {
        "Signed"
    } else {
        "Already signed"
    };
    out.status(format!(
        "{verb} {}@{} ({}, key {})",
        done.reference, done.digest, done.format, done.key
    ));
    match &done.tag {
        Some(tag) => out.status(format!(
            "  signature manifest {} (tag {tag})",
            done.signature_manifest
        )),
        None => out.status(format!(
            "  signature manifest {} (referrer)",
            done.signature_manifest
        )),
    }
    Ok(ExitCode::SUCCESS)
}
