//! The peer guard: tests that need another program (docker-registry, skopeo, openssl, the ORAS
//! Python SDK) start with `require_peers!(…)`. A missing peer fails the test, unless whoever
//! runs it opts out with `PACKREG_SKIP_PEER_TESTS=1`: a test that passes without running
//! proves nothing.

/// Returns from the test when a peer is missing and the runner opted out; fails it when a peer
/// is missing otherwise. A peer is a command on PATH, or `python3:MODULE` for a Python module.
macro_rules! require_peers {
    ($($peer:expr),+ $(,)?) => {
        if !$crate::support::peers_available(&[$($peer),+]) {
            return;
        }
    };
}

/// Whether `peer` is here: a command on PATH, or `python3:MODULE`, a module python3 imports.
pub fn have(peer: &str) -> bool {
    if let Some(module) = peer.strip_prefix("python3:") {
        return std::process::Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(peer).is_file()))
}

/// Whether every peer is here (see [`have`]): false when one is missing and the runner set
/// `PACKREG_SKIP_PEER_TESTS=1`; panics naming what to install when one is missing otherwise.
pub fn peers_available(peers: &[&str]) -> bool {
    let missing: Vec<&&str> = peers.iter().filter(|p| !have(p)).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("PACKREG_SKIP_PEER_TESTS").is_some_and(|v| v == "1") {
        eprintln!("skipping: {missing:?} not installed (PACKREG_SKIP_PEER_TESTS=1)");
        return false;
    }
    panic!(
        "{missing:?} not installed: run scripts/setup.sh (python3:oras.client is `pip install oras`), or set PACKREG_SKIP_PEER_TESTS=1 to skip the tests that need it"
    );
}
