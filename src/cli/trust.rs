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
