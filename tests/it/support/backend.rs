//! The store a test runs packreg against, as a parameter: the sandbox's local store or a
//! registry started for the test. A test that holds on both is one function taking a
//! [`Backend`], run on each by `over_backends!(name)` (tests `name::local`, `name::registry`).

use std::path::PathBuf;

use super::registry::{Registry, Tls};
use super::Sandbox;

/// Runs the test function `$name(Backend)` once per backend, as tests `$name::local` and
/// `$name::registry` (a plain docker-registry; its peer guard first).
macro_rules! over_backends {
    ($name:ident) => {
        mod $name {
            #[test]
            fn local() {
                super::$name($crate::support::Backend::Local);
            }

            #[test]
            fn registry() {
                require_peers!("docker-registry");
                super::$name($crate::support::Backend::Registry);
            }
        }
    };
}

/// Where a test's packs are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local OCI layout store in the sandbox (`oci:PATH`).
    Local,
    /// A plain-HTTP docker-registry on loopback, started for the test.
    Registry,
}

/// A store of one test: the registry runs until it is dropped.
pub struct TestStore {
    /// The registry, for a registry backend.
    pub registry: Option<Registry>,
    /// The local store's folder, for a local backend.
    pub dir: Option<PathBuf>,
}

impl TestStore {
    /// Starts the store of `backend` (a local one inside `sb`).
    pub fn start(backend: Backend, sb: &Sandbox) -> TestStore {
        match backend {
            Backend::Local => TestStore {
                registry: None,
                dir: Some(sb.store()),
            },
            Backend::Registry => TestStore {
                registry: Some(Registry::start(Tls::None, None)),
                dir: None,
            },
        }
    }

    /// The `-r` of the store, or of a part of it under `base` ("" for the root): a base path
    /// on a registry, a sub-folder of a local store, each a store of its own.
    pub fn at(&self, base: &str) -> String {
        match (&self.registry, &self.dir) {
            (Some(reg), _) if base.is_empty() => reg.addr.clone(),
            (Some(reg), _) => format!("{}/{base}", reg.addr),
            (None, Some(dir)) => format!("oci:{}", dir.join(base).display()),
            (None, None) => unreachable!("a store is local or a registry"),
        }
    }

    /// How many blob upload sessions the registry has seen; None for a local store.
    pub fn upload_requests(&self) -> Option<usize> {
        self.registry.as_ref().map(Registry::upload_requests)
    }
}
