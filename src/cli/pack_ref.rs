//! The packs a command names, and the store they are in. Every command taking a pack reads it
//! here, in one of three forms: `NAME[:TAG|@DIGEST]` in the store of `-r` (or the settings),
//! a full registry reference `HOST[:PORT][/BASE]/spectro-packs/archive/NAME[:TAG|@DIGEST]`,
//! or `oci:PATH/spectro-packs/archive/NAME[:TAG|@DIGEST]`. A full reference picks the store.

use std::process::ExitCode;

use packreg::reference::{parse_located, PackRef, Selector};
use packreg::store::{Store, StoreOptions};

use super::failure::{Failure, Kind};
use super::{Cli, Output};

/// One pack argument: the pack, and the store it names, if any.
#[derive(Debug, Clone)]
pub struct PackArg {
    /// As typed.
    pub text: String,
    /// The store the reference names (`oci:PATH` or `host[:port][/base]`).
    pub store: Option<String>,
    /// The pack in that store.
    pub pack: PackRef,
}

/// Reads one pack argument; a malformed one is a usage error.
pub fn parse(text: &str) -> Result<PackArg, Failure> {
    let (store, pack) = parse_located(text).map_err(|e| Failure::usage(e.to_string()))?;
    Ok(PackArg {
        text: text.to_string(),
        store,
        pack,
    })
}

/// The same store, however its name ends.
fn same_store(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The store a command on `packs` runs on: the one their full references name, else `-r`,
/// `PACKREG_REGISTRY` or the settings (None: the embedded store). A full reference and a `-r`
/// naming another store, or references naming two stores, are usage errors.
pub fn store_of(cli: &Cli, out: &Output, packs: &[PackArg]) -> Result<Option<String>, Failure> {
    let mut named: Option<&PackArg> = None;
    for arg in packs {
        let Some(store) = &arg.store else { continue };
        if let Some(flag) = cli.registry.as_deref().filter(|r| !same_store(r, store)) {
            return Err(Failure::usage(format!(
                "{} names the store {store}, but -r names {flag}: drop -r, or give the pack as NAME[:TAG|@DIGEST]",
                arg.text
            )));
        }
        match named {
            Some(first) if !first.store.as_deref().is_some_and(|s| same_store(s, store)) => {
                return Err(Failure::usage(format!(
                    "{} and {} name two stores; one command reads one store",
                    first.text, arg.text
                )));
            }
            _ => named = Some(arg),
        }
    }
    match named.and_then(|arg| arg.store.clone()) {
        Some(store) => Ok(Some(store)),
        None => super::config::registry(cli.registry.as_deref(), out),
    }
}

/// Reads `texts`, opens the store they name (or the one of `-r`), and runs `command` with the
/// runtime, the store, the connection settings and the packs.
pub fn with_pack_store<F>(
    cli: &Cli,
    out: &Output,
    texts: &[&str],
    command: F,
) -> Result<ExitCode, Failure>
where
    F: FnOnce(
        tokio::runtime::Runtime,
        &dyn Store,
        &StoreOptions,
        Vec<PackRef>,
    ) -> Result<ExitCode, Failure>,
{
    let args = texts
        .iter()
        .map(|text| parse(text))
        .collect::<Result<Vec<_>, _>>()?;
    let registry = store_of(cli, out, &args)?;
    let packs = args.into_iter().map(|arg| arg.pack).collect();
    super::with_store_at(cli, out, registry, |rt, store, opts| {
        command(rt, store, opts, packs)
    })
}

/// The version a command that changes one version takes (`rm`, `tag add`): the reference's
/// tag; a digest or no tag is a usage error saying `what` to give.
pub fn tag_of(pack: &PackRef, what: &str) -> Result<String, Failure> {
    match &pack.selector {
        Selector::Tag(tag) => Ok(tag.clone()),
        _ => Err(Failure {
            message: format!("{pack}: give {what}"),
            code: 2,
            kind: Kind::InvalidInput,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_reads_as_the_same_pack() {
        for text in [
            "netpol:1.0.0",
            "127.0.0.1:5000/team/spectro-packs/archive/netpol:1.0.0",
            "[::1]:5000/spectro-packs/archive/netpol:1.0.0",
            "oci:./site/spectro-packs/archive/netpol:1.0.0",
        ] {
            assert_eq!(parse(text).unwrap().pack.to_string(), "netpol:1.0.0");
        }
    }

    #[test]
    fn a_path_outside_the_packs_is_a_usage_error_naming_the_form() {
        let failure = parse("127.0.0.1:5000/team/netpol:1.0.0").unwrap_err();
        assert_eq!(failure.code, 2);
        assert!(
            failure
                .message
                .contains("REGISTRY/spectro-packs/archive/NAME[:TAG|@DIGEST]"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn stores_compare_without_their_trailing_slash() {
        assert!(same_store("oci:./a/", "oci:./a"));
        assert!(!same_store("127.0.0.1:5000", "127.0.0.1:5001"));
    }
}
