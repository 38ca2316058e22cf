//! docker's `config.json`: reading credentials (through the `docker_credential` crate) and
//! writing them for `login` and `logout`, keeping every other key intact.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use docker_credential::{CredentialRetrievalError, DockerCredential};
use serde_json::{Map, Value};

use super::{AuthError, Credential, Secret};

/// The credential for `host` from the docker config `file` (None: there is none). A missing
/// file or entry means anonymous access; a configured helper that is not installed or fails gives a warning (returned) and
/// anonymous access, as docker does.
pub fn load_credential(host: &str, file: Option<&Path>) -> (Credential, Option<String>) {
    let Some(path) = file else {
        return (Credential::Anonymous, None);
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(_) => return (Credential::Anonymous, None),
    };
    match docker_credential::get_credential_from_reader(std::io::BufReader::new(file), host) {
        Ok(DockerCredential::UsernamePassword(username, password)) => (
            Credential::Basic {
                username,
                password: Secret::new(password),
            },
            None,
        ),
        Ok(DockerCredential::IdentityToken(token)) => {
            (Credential::IdentityToken(Secret::new(token)), None)
        }
        Err(CredentialRetrievalError::NoCredentialConfigured) => (Credential::Anonymous, None),
        Err(err) => {
            // Never include a helper's output: it may hold the secret.
            let why = match err {
                CredentialRetrievalError::HelperCommunicationError => {
                    "its credential helper is configured but could not be run (is it installed?)"
                        .to_string()
                }
                CredentialRetrievalError::HelperFailure { helper, .. } => {
                    format!("credential helper {helper} failed")
                }
                other => other.to_string(),
            };
            (
                Credential::Anonymous,
                Some(format!(
                    "{}: no credentials for {host}: {why}; continuing anonymously",
                    path.display()
                )),
            )
        }
    }
}

fn read_config(path: &Path) -> Result<Map<String, Value>, AuthError> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(AuthError::Config {
                path: path.display().to_string(),
                message: "not a JSON object; fix or remove the file".into(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(AuthError::Config {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}

fn lock_config(path: &Path) -> Result<crate::fsutil::FileLock, AuthError> {
    crate::fsutil::lock_for_update(path).map_err(|e| AuthError::Config {
        path: path.display().to_string(),
        message: format!("cannot lock it for writing: {e}"),
    })
}

fn write_config(path: &Path, map: &Map<String, Value>) -> Result<(), AuthError> {
    let err = |message: String| AuthError::Config {
        path: path.display().to_string(),
        message,
    };
    let mut bytes = serde_json::to_vec_pretty(map).unwrap_or_default();
    bytes.push(b'\n');
    crate::fsutil::write_atomic(path, &bytes, true).map_err(|e| err(e.to_string()))
}

/// The helper configured for `host`: `credHelpers[host]`, else `credsStore`.
fn helper_for(map: &Map<String, Value>, host: &str) -> Option<String> {
    map.get("credHelpers")
        .and_then(|h| h.get(host))
        .or_else(|| map.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn run_helper(helper: &str, verb: &str, input: &[u8]) -> Result<(), AuthError> {
    let fail = |message: String| AuthError::Helper {
        helper: helper.to_string(),
        message,
    };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(|e| fail(e.to_string()))?;
    }
    let status = child.wait().map_err(|e| fail(e.to_string()))?;
    if status.success() {
        Ok(())
    } else {
        Err(fail(format!("`{verb}` exited with {status}")))
    }
}

/// Stores credentials for `host` as docker does: through the configured credential helper
/// when there is one, else base64 in `auths`. Returns the file written or the helper used.
pub fn store_credential(
    host: &str,
    username: &str,
    password: &Secret,
    file: Option<&Path>,
) -> Result<String, AuthError> {
    let path = file.ok_or_else(|| AuthError::Config {
        path: "~/.docker/config.json".into(),
        message: "HOME is not set; pass --registry-config FILE".into(),
    })?;
    // Another login may be rewriting the file: read, change and write under its lock.
    let _lock = lock_config(path)?;
    let mut map = read_config(path)?;
    if let Some(helper) = helper_for(&map, host) {
        let input = serde_json::json!({
            "ServerURL": host,
            "Username": username,
            "Secret": password.expose(),
        });
        run_helper(&helper, "store", input.to_string().as_bytes())?;
        return Ok(format!("docker-credential-{helper}"));
    }
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{username}:{}", password.expose()));
    let auths = map
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    if let Some(auths) = auths.as_object_mut() {
        auths.insert(host.to_string(), serde_json::json!({ "auth": encoded }));
    }
    write_config(path, &map)?;
    Ok(path.display().to_string())
}

/// Removes the credentials of `host`. Returns whether there were any.
pub fn remove_credential(host: &str, file: Option<&Path>) -> Result<bool, AuthError> {
    let Some(path) = file else {
        return Ok(false);
    };
    let _lock = lock_config(path)?;
    let mut map = read_config(path)?;
    if let Some(helper) = helper_for(&map, host) {
        run_helper(&helper, "erase", host.as_bytes())?;
        return Ok(true);
    }
    let removed = map
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .and_then(|auths| auths.shift_remove(host))
        .is_some();
    if removed {
        write_config(path, &map)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_read_and_remove_keep_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"other.example":{"auth":"eDp5"}},"psFormat":"table"}"#,
        )
        .unwrap();
        store_credential(
            "127.0.0.1:5000",
            "alice",
            &Secret::new("s3cret"),
            Some(&path),
        )
        .unwrap();
        let (cred, warning) = load_credential("127.0.0.1:5000", Some(&path));
        assert!(warning.is_none());
        assert_eq!(
            cred,
            Credential::Basic {
                username: "alice".into(),
                password: Secret::new("s3cret")
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("psFormat") && text.contains("other.example"),
            "{text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(remove_credential("127.0.0.1:5000", Some(&path)).unwrap());
        assert_eq!(
            load_credential("127.0.0.1:5000", Some(&path)).0,
            Credential::Anonymous
        );
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("other.example"));
    }

    #[test]
    fn missing_helper_warns_and_goes_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"credHelpers":{"reg.example":"packreg-test-nonexistent"}}"#,
        )
        .unwrap();
        let (cred, warning) = load_credential("reg.example", Some(&path));
        assert_eq!(cred, Credential::Anonymous);
        assert!(warning.unwrap().contains("could not be run"));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Credential::Basic {
            username: "u".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
