//! The integration tests, in one binary (`cargo test --test it`; one module with
//! `cargo test --test it push::`).
//!
//! Where a new test goes:
//! - what one command does: that command's module (`push`, `pull`, `ls`, `rm`, `tag`,
//!   `login`, `mirror`, `bundle` for export and import, `diff`, `images`, `doctor`, `index`,
//!   `config`, `validate`, `build`, `install`; a command without one gets a new file),
//!   whatever store it runs against. The store is a parameter, not a file: a test that holds
//!   on a local store and on a registry is one function taking a `support::Backend`, run on
//!   both by `over_backends!`;
//! - what the registry transport does on the wire (status codes, retries, redirects, tokens,
//!   proxies): `protocol/`, against the fake registry or the CONNECT proxy, in the file of
//!   its topic (`retries`, `network`, `auth`, `uploads`, `downloads`, `listing`, `proxy`);
//! - transfers through cut connections, 429/503 answers and registry restarts: `faults`,
//!   behind the fault proxy;
//! - crafted hostile input (stores, bundles, tar files), the property tests and the fuzz
//!   corpus replay: `hostile/`;
//! - what `--json` prints, against the shapes docs/json.md documents, and the error object:
//!   `json_shapes`; what `-q` leaves: `quiet`; labels and parent tags as `ls` and `inspect`
//!   show them: `labels`;
//! - the gzip packreg writes as other tools read it, and identity across compressors:
//!   `compression`;
//! - the README's commands: `readme`;
//! - the pack references every command taking a pack reads, and the answer to a pack or
//!   version that is not there: `references`;
//! - that the library names no packreg command, flag or variable (the CLI words advice):
//!   `advice`.
//!
//! Every helper is in `support/`: the one sandbox (a private HOME, XDG folders and
//! DOCKER_CONFIG for every packreg a test runs), the registry launcher, the fake registry, the
//! fault and CONNECT proxies, the Python helpers, the hooked store wrapper, and the peer guard
//! `require_peers!` that starts every test needing docker-registry, skopeo or the ORAS SDK.
//! A test's comment states the property it checks.

#[macro_use]
mod support;

mod advice;
mod build;
mod bundle;
mod catalog;
mod catalog_browser;
mod compression;
mod config;
mod diff;
mod doctor;
mod faults;
mod hostile;
mod images;
mod index;
mod install;
mod json_shapes;
mod labels;
mod layering;
mod login;
mod ls;
mod ls_index;
mod mirror;
mod protocol;
mod pull;
mod push;
mod quiet;
mod readme;
mod references;
mod rm;
mod sign;
mod tag;
mod validate;
