//! The trust the user gives on the command line (`--key PUB...`, or `--trust-policy FILE
//! --trust-store DIR`), read from their files: keys and roots come only from the user.

use std::path::{Path, PathBuf};

use packreg::sign::{PublicKey, Trust, TrustPolicy, TrustStore};

use super::failure::Kind;
use super::Failure;

/// A key or policy file larger than this is not a key or policy.
const MAX_TRUST_FILE: u64 = 1024 * 1024;

/// Reads a small file the user named.
pub fn read_user_file(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::File::open(path)
        .and_then(|f| packreg::limits::read_bounded(f, MAX_TRUST_FILE, what))
        .map_err(|e| Failure::with_kind(format!("{}: {e}", path.display()), Kind::InvalidInput))
}

/// The trust named by the flags, or None when none was given.
pub fn load(
    keys: &[PathBuf],
    trust_policy: Option<&Path>,
    trust_store: Option<&Path>,
) -> Result<Option<Trust>, Failure> {
    let invalid = |path: &Path, e: packreg::sign::SignError| {
        Failure::with_kind(format!("{}: {e}", path.display()), Kind::InvalidInput)
    };
    match (keys.is_empty(), trust_policy, trust_store) {
        (true, None, None) => Ok(None),
        (false, None, None) => {
            let keys = keys
                .iter()
                .map(|path| {
                    PublicKey::from_pem(&read_user_file(path, "a public key file")?)
                        .map_err(|e| invalid(path, e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Trust::Keys(keys)))
        }
        (true, Some(policy), Some(store)) => {
            let policy = TrustPolicy::from_json(&read_user_file(policy, "a trust policy")?)
                .map_err(|e| invalid(policy, e))?;
            let store = TrustStore::load(store).map_err(|e| invalid(store, e))?;
            Ok(Some(Trust::Policy { policy, store }))
        }
        _ => Err(Failure::usage(
            "give either public keys (--key PUB...) or both --trust-policy FILE and --trust-store DIR",
        )),
    }
}

/// The trust a command checks signatures against: pull, mirror, export and import take only
/// what verifies (a gate); inspect and `ls --signatures` report whether it does.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrustFlags {
    /// Trust this public key (PEM; cosign signatures and bundles): pull, mirror, export and
    /// import take only versions a signature verifies; inspect and ls --signatures say whether
    /// one does. Repeatable.
    #[arg(long = "verify-key", value_name = "PUB", help_heading = TRUST_HEADING)]
    pub verify_keys: Vec<PathBuf>,
    /// Trust what this Notary Project trust policy trusts (notation signatures), as
    /// --verify-key does for keys.
    #[arg(
        long,
        value_name = "FILE",
        requires = "trust_store",
        conflicts_with = "verify_keys",
        help_heading = TRUST_HEADING
    )]
    pub trust_policy: Option<PathBuf>,
    /// The trust store folder of --trust-policy (`x509/ca/NAME/*.pem`).
    #[arg(
        long,
        value_name = "DIR",
        requires = "trust_policy",
        help_heading = TRUST_HEADING
    )]
    pub trust_store: Option<PathBuf>,
}

/// The help heading of the trust flags (set on each: a heading on the struct would carry
/// over to the flags declared after it).
const TRUST_HEADING: &str = "Signature trust";

impl TrustFlags {
    /// The trust given, or None.
    pub fn trust(&self) -> Result<Option<Trust>, Failure> {
        load(
            &self.verify_keys,
            self.trust_policy.as_deref(),
            self.trust_store.as_deref(),
        )
    }
}

/// The gate the flags ask for, or None.
pub fn gate(flags: &TrustFlags) -> Result<Option<packreg::ops::verify_gate::VerifyGate>, Failure> {
    Ok(flags
        .trust()?
        .map(packreg::ops::verify_gate::VerifyGate::new))
}

/// The gate for a command taking packs from or into the registries `hosts` (their
/// `registry_id`s): the flags', else the `verify_keys` or trust policy the settings file
/// requires for the first of those registries that has any.
pub fn gate_for(
    flags: &TrustFlags,
    hosts: &[String],
    out: &super::Output,
) -> Result<Option<packreg::ops::verify_gate::VerifyGate>, Failure> {
    if let Some(gate) = gate(flags)? {
        return Ok(Some(gate));
    }
    let file = super::config::loaded(out)?;
    for host in hosts {
        let Some(section) = file.registry_section(host) else {
            continue;
        };
        let trust = load(
            &section.verify_keys,
            section.trust_policy.as_deref(),
            section.trust_store.as_deref(),
        )?;
        if let Some(trust) = trust {
            return Ok(Some(packreg::ops::verify_gate::VerifyGate::new(trust)));
        }
    }
    Ok(None)
}

/// `pack_ref` checked by the gate the flags (or the settings file) ask for: pinned to the
/// digest that verified, so what is taken is what was verified. Unchanged without a gate.
pub async fn gated(
    store: &dyn packreg::store::Store,
    pack_ref: packreg::reference::PackRef,
    flags: &TrustFlags,
    out: &super::Output,
) -> Result<packreg::reference::PackRef, Failure> {
    let Some(gate) = gate_for(flags, &[store.registry_id()], out)? else {
        return Ok(pack_ref);
    };
    let repo = pack_ref.repository();
    let (reference, raw) = packreg::ops::resolve::resolve_ref(store, &pack_ref).await?;
    gate.admit(
        store,
        &repo,
        &format!("{}:{reference}", pack_ref.name),
        &raw.digest,
    )
    .await?;
    Ok(packreg::reference::PackRef {
        selector: packreg::reference::Selector::Digest(raw.digest),
        ..pack_ref
    })
}
