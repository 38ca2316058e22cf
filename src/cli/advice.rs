//! What a failure tells the user: the library's typed facts, with what to do in packreg's own
//! terms (its commands, flags and variables). Those terms are written here and only here; the
//! library never names them (tests/it/advice.rs checks).

use packreg::artifact::ArtifactError;
use packreg::auth::AuthError;
use packreg::config::defaults::{MIN_RATE_ENV, PAGE_SIZE_ENV, RETRY_BUDGET_ENV, TIMEOUT_ENV};
use packreg::limits::RemoteLimit;
use packreg::ops::not_found::PackNotFound;
use packreg::ops::{OpError, Remedy, Warning};
use packreg::store::remote::NetworkCause;
use packreg::store::{AuthFailure, StoreError};
use packreg::PackError;

use super::failure::{Failure, Kind};

impl From<packreg::ops::OpError> for Failure {
    fn from(err: packreg::ops::OpError) -> Self {
        op_failure(&err)
    }
}

impl From<packreg::store::StoreError> for Failure {
    fn from(err: packreg::store::StoreError) -> Self {
        store_failure(&err)
    }
}

impl From<packreg::ops::diff::DiffError> for Failure {
    fn from(err: packreg::ops::diff::DiffError) -> Self {
        match err {
            packreg::ops::diff::DiffError::Op(e) => e.into(),
            other => Failure::with_kind(other.to_string(), Kind::InvalidInput),
        }
    }
}

impl From<packreg::reference::BadReference> for Failure {
    fn from(err: packreg::reference::BadReference) -> Self {
        Failure::usage(err.to_string())
    }
}

impl From<packreg::PackError> for Failure {
    fn from(err: packreg::PackError) -> Self {
        pack_failure(&err)
    }
}

/// The failure a store error ends a command with.
pub fn store_failure(err: &StoreError) -> Failure {
    Failure::with_kind(
        format!("{err}{}", store_advice(err).unwrap_or_default()),
        store_kind(err),
    )
}

/// Adds to each failed pack of a mirror, export or import what to do, before it is printed.
pub fn word_failures(failures: &mut [packreg::ops::mirror::MirrorFailure]) {
    for failure in failures {
        if let Some(cause) = failure.cause.take() {
            let worded = op_failure(&cause);
            failure.error = worded.message;
        }
    }
}

/// Adds to each image that could not be resolved or checked what to do, before it is printed.
pub fn word_images(images: &mut [packreg::ops::images::PackImage]) {
    for image in images {
        if let Some(cause) = image.cause.take() {
            image.error = Some(store_failure(&cause).message);
        }
    }
}

/// The failure an operation's error ends a command with.
pub fn op_failure(err: &OpError) -> Failure {
    if let OpError::Store(e) = err {
        return store_failure(e);
    }
    if let OpError::Pack(e) = err {
        return pack_failure(e);
    }
    Failure::with_kind(
        format!("{err}{}", op_advice(err).unwrap_or_default()),
        op_kind(err),
    )
}

/// The failure a pack folder or chart error ends a command with.
pub fn pack_failure(err: &PackError) -> Failure {
    let advice = match err {
        PackError::BadNamespace { .. } => {
            "; pass --namespace with lowercase letters, digits and '-'"
        }
        PackError::BadPackField { field: "name", .. } => "; pass --name NAME",
        PackError::BadPackField {
            field: "version", ..
        } => "; pass --version VERSION",
        _ => "",
    };
    Failure::with_kind(format!("{err}{advice}"), Kind::InvalidInput)
}

/// The failure a credential file error ends a command with.
pub fn auth_failure(err: &AuthError) -> Failure {
    let (advice, kind) = match err {
        AuthError::NoDockerConfig => ("; pass --registry-config FILE", Kind::InvalidInput),
        AuthError::Config { .. } => ("", Kind::InvalidInput),
        AuthError::Helper { .. } => ("", Kind::Internal),
    };
    Failure::with_kind(format!("{err}{advice}"), kind)
}

/// What to do about a store error, as the end of its sentence.
pub fn store_advice(err: &StoreError) -> Option<String> {
    match err {
        StoreError::Unauthorized { host, reason, .. } => match reason {
            AuthFailure::Rejected => Some(format!(
                "; run `packreg login {host}`, or check the credentials in the docker config"
            )),
            AuthFailure::TokenRefused { .. } => Some(format!("; run `packreg login {host}`")),
            AuthFailure::IdentityTokenWithoutTokenAuth => {
                Some("; run `packreg login` with a user name and password".into())
            }
            AuthFailure::BadPassword | AuthFailure::TokenService(_) => None,
        },
        StoreError::CatalogRefused { .. } => {
            Some("; list one pack's versions with `packreg ls NAME`".into())
        }
        StoreError::Network {
            cause,
            plain_http,
            location,
            ..
        } => Some(network_advice(*cause, *plain_http, location)),
        StoreError::Limit { limit, .. } => limit_advice(limit),
        _ => None,
    }
}

fn limit_advice(limit: &RemoteLimit) -> Option<String> {
    match limit {
        RemoteLimit::TransferRate { .. } => Some(format!(
            "; on a slow link lower the minimum with --min-rate KIB (or {MIN_RATE_ENV}; 0 turns it off)"
        )),
        RemoteLimit::RetryBudget { .. } => Some(format!(
            "; try again later, or raise the budget with --retry-budget (such as --retry-budget 10m) or {RETRY_BUDGET_ENV}"
        )),
        _ => None,
    }
}

/// The one thing to try about a connection failure.
fn network_advice(cause: NetworkCause, plain_http: bool, host: &str) -> String {
    match cause {
        NetworkCause::NotTls => "; add --plain-http if it is a plain-HTTP registry".into(),
        NetworkCause::PlainHttpToTls => {
            "; leave out --plain-http (and `plain_http = true` from the registry's section of config.toml)".into()
        }
        NetworkCause::Certificate => {
            "; pass --ca-file with the CA certificate (PEM) that signed it, or --insecure to skip verification".into()
        }
        NetworkCause::Tls => "; check that the address names the registry's HTTPS port".into(),
        NetworkCause::Dns => format!("; check the host name {host:?} (a typo, or a name only another network knows)"),
        NetworkCause::Refused if !has_port(host) => format!(
            "; without a port packreg connects to {}: name the registry's port, as in {host}:5000",
            if plain_http { "80 (plain HTTP)" } else { "443 (HTTPS)" }
        ),
        NetworkCause::Refused => {
            "; check the port and that the registry is running".into()
        }
        NetworkCause::Timeout => format!(
            "; try again, or raise the limit with --timeout (such as --timeout 2m) or {TIMEOUT_ENV}"
        ),
        NetworkCause::Reset | NetworkCause::Other => "; try again".into(),
    }
}

/// Whether a registry address names its port (`host:5000`, `[::1]:5000`).
fn has_port(host: &str) -> bool {
    host.rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// What to do about a bundle that cannot be written or read, as the end of its sentence.
fn bundle_advice(err: &packreg::ops::bundle::BundleError) -> Option<String> {
    use packreg::ops::bundle::BundleError as B;
    let advice = match err {
        B::Exists { .. } => "; pass --force to replace it, or choose another file with -o",
        B::Truncated { .. } | B::NoEnd { .. } | B::Incomplete { .. } => {
            "; copy the whole bundle again (compare its size or checksum with the exported file), or export it again"
        }
        B::Corrupt { .. } | B::BadContents { .. } => {
            "; was it written by `packreg export`? Copy or export it again"
        }
    };
    Some(advice.into())
}

/// What to do about an operation's error, as the end of its sentence.
fn op_advice(err: &OpError) -> Option<String> {
    match err {
        OpError::Invalid { report } => Some(format!(
            "; run `packreg validate {}` to see them all",
            report.pack.display()
        )),
        OpError::Conflict { .. } => {
            Some("; bump the version in pack.json, or pass --force to replace it".into())
        }
        OpError::TagMoved { .. } => Some(
            "; `packreg inspect` shows what is there now; push again (with --force to replace it) if yours should win"
                .into(),
        ),
        OpError::NoVersions { .. } => Some("; `packreg ls` lists what is there".into()),
        OpError::PackNotFound(missing) => Some(not_found_advice(missing)),
        OpError::OutputExists(_) => {
            Some("; pass --force to replace it, or choose another folder with -o".into())
        }
        OpError::UnsafeOutputName(_) => {
            Some("; pull NAME:VERSION, or choose the folder with -o".into())
        }
        OpError::BadLabel(_) => Some("; remove versions with `packreg rm`".into()),
        OpError::BadIndex(_) => Some("; `packreg index rebuild NAME...` replaces it".into()),
        OpError::EmptyBundle(_) => Some("; was it written by `packreg export`?".into()),
        OpError::BundleFault(e) => bundle_advice(e),
        OpError::NoPackNames { .. } => Some(
            "; name the packs (`packreg ls NAME`, `packreg mirror SRC DST NAME...`), or record them once with `packreg index rebuild NAME...`"
                .into(),
        ),
        _ => None,
    }
}

/// What is there instead of a pack or version not found: a version written with a leading
/// `v`, the nearest pack names, or the pack's versions.
fn not_found_advice(missing: &PackNotFound) -> String {
    let name = &missing.pack.name;
    let wanted = missing.wanted_version();
    let unprefixed = wanted
        .as_deref()
        .and_then(|w| w.strip_prefix(['v', 'V']))
        .filter(|w| missing.versions.iter().any(|v| v == w));
    if let Some(version) = unprefixed {
        return format!("; versions have no leading v: {version}");
    }
    if !missing.similar_packs.is_empty() {
        return format!("; did you mean {}?", either(&missing.similar_packs));
    }
    if !missing.similar_tags.is_empty() {
        let tags: Vec<String> = missing
            .similar_tags
            .iter()
            .map(|t| format!("{name}:{t}"))
            .collect();
        return format!("; did you mean {}?", either(&tags));
    }
    if !missing.pack_exists {
        return "; `packreg ls` lists the packs there".into();
    }
    if missing.versions.is_empty() {
        return format!("; {name} has no versions (`packreg ls {name}`)");
    }
    let listed = missing.versions.join(", ");
    if missing.version_count > missing.versions.len() {
        format!(
            "; the nearest of its {} versions: {listed} (`packreg ls {name}` lists them all)",
            missing.version_count
        )
    } else {
        format!("; its versions: {listed}")
    }
}

/// `a`, `a or b`, `a, b or c`.
fn either(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// What the user can do, in packreg's terms.
pub fn remedy_words(remedy: Remedy) -> String {
    match remedy {
        Remedy::RebuildIndex => "`packreg index rebuild NAME` repairs it".into(),
        Remedy::CheckAddressAndCredentials => {
            "check the address, and the credentials (`packreg login`)".into()
        }
        Remedy::NameThePacks => {
            "`ls` needs a pack name and `mirror` needs names (or --names-from)".into()
        }
        Remedy::PageSizeSetting => format!("packreg asks 1000 at a time ({PAGE_SIZE_ENV})"),
        Remedy::PushPaletteFormat => "push with --format palette".into(),
    }
}

/// Adds to each warning the words of its remedy, before it is printed (as text or JSON).
pub fn word_warnings(warnings: &mut [Warning]) {
    for warning in warnings {
        if let Some(remedy) = warning.remedy.take() {
            warning.text = format!("{}; {}", warning.text, remedy_words(remedy));
        }
    }
}

/// The kind of a store error.
pub fn store_kind(err: &StoreError) -> Kind {
    match err {
        StoreError::NotFound { .. } => Kind::NotFound,
        StoreError::Unauthorized { .. } => Kind::Unauthorized,
        StoreError::Denied { .. } | StoreError::CatalogRefused { .. } => Kind::Denied,
        StoreError::Config(_) => Kind::InvalidInput,
        StoreError::Network { cause, .. } => match cause {
            NetworkCause::NotTls
            | NetworkCause::PlainHttpToTls
            | NetworkCause::Certificate
            | NetworkCause::Tls => Kind::Tls,
            NetworkCause::Timeout => Kind::Timeout,
            _ => Kind::Network,
        },
        StoreError::Registry(e) => match e.status {
            401 => Kind::Unauthorized,
            403 => Kind::Denied,
            404 => Kind::NotFound,
            408 => Kind::Timeout,
            409 => Kind::Conflict,
            429 => Kind::Limit,
            400..=499 => Kind::InvalidInput,
            _ => Kind::Internal,
        },
        StoreError::Limit { .. } => Kind::Limit,
        StoreError::Integrity { .. }
        | StoreError::Io { .. }
        | StoreError::Corrupt { .. }
        | StoreError::Unsupported(_)
        | StoreError::Remote { .. } => Kind::Internal,
    }
}

fn op_kind(err: &OpError) -> Kind {
    match err {
        OpError::Store(e) | OpError::BadIndex(e) => store_kind(e),
        OpError::Conflict { .. }
        | OpError::OutputExists(_)
        | OpError::TagMoved { .. }
        | OpError::BundleFault(packreg::ops::bundle::BundleError::Exists { .. }) => Kind::Conflict,
        OpError::NoVersions { .. } | OpError::PackNotFound(_) | OpError::MissingManifest { .. } => {
            Kind::NotFound
        }
        OpError::NoPackNames { .. } => Kind::Denied,
        OpError::Pack(_)
        | OpError::Invalid { .. }
        | OpError::UnsafeOutputName(_)
        | OpError::NotAVersion(_)
        | OpError::BadLabel(_)
        | OpError::Bundle { .. }
        | OpError::EmptyBundle(_)
        | OpError::BundleFault(_)
        | OpError::BadImage { .. } => Kind::InvalidInput,
        OpError::Artifact(ArtifactError::Limit { .. }) => Kind::Limit,
        OpError::Artifact(_) | OpError::Task(_) => Kind::Internal,
        OpError::Unverified(_) => Kind::Untrusted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use packreg::store::remote::RegistryError;

    fn network(cause: NetworkCause, plain_http: bool) -> StoreError {
        StoreError::Network {
            location: "r.example:5000".into(),
            cause,
            plain_http,
            message: "it failed".into(),
        }
    }

    #[test]
    fn a_401_advises_login_to_that_host() {
        let err = RegistryError::new(
            http::StatusCode::UNAUTHORIZED,
            b"",
            "r.example:5000/a/b:1",
            "r.example:5000",
            packreg::store::remote::Action::ManifestDownload,
        )
        .into_store_error();
        let failure = store_failure(&err);
        assert!(
            failure.message.ends_with(
                "(UNAUTHORIZED); run `packreg login r.example:5000`, or check the credentials in the docker config"
            ),
            "{}",
            failure.message
        );
        assert_eq!(failure.kind, Kind::Unauthorized);
    }

    #[test]
    fn a_refused_token_and_an_identity_token_advise_login() {
        let refused = StoreError::Unauthorized {
            location: "h".into(),
            host: "h:1".into(),
            reason: AuthFailure::TokenRefused { status: 403 },
        };
        assert!(store_failure(&refused)
            .message
            .ends_with("(HTTP 403); run `packreg login h:1`"));
        let identity = StoreError::Unauthorized {
            location: "h".into(),
            host: "h".into(),
            reason: AuthFailure::IdentityTokenWithoutTokenAuth,
        };
        assert!(store_failure(&identity)
            .message
            .contains("run `packreg login` with a user name and password"));
    }

    #[test]
    fn https_to_a_plain_http_registry_advises_plain_http() {
        let failure = store_failure(&network(NetworkCause::NotTls, false));
        assert_eq!(
            failure.message,
            "r.example:5000: it failed; add --plain-http if it is a plain-HTTP registry"
        );
        assert_eq!(failure.kind, Kind::Tls);
    }

    #[test]
    fn an_untrusted_certificate_advises_ca_file_or_insecure() {
        let failure = store_failure(&network(NetworkCause::Certificate, false));
        assert!(failure.message.contains("--ca-file"), "{}", failure.message);
        assert!(
            failure.message.contains("--insecure"),
            "{}",
            failure.message
        );
        assert_eq!(failure.kind, Kind::Tls);
    }

    #[test]
    fn a_dns_failure_advises_checking_the_name_not_plain_http() {
        for plain_http in [false, true] {
            let failure = store_failure(&network(NetworkCause::Dns, plain_http));
            assert_eq!(
                failure.message,
                "r.example:5000: it failed; check the host name \"r.example:5000\" (a typo, or a name only another network knows)"
            );
            assert_eq!(failure.kind, Kind::Network);
        }
    }

    #[test]
    fn a_refused_connection_advises_the_port() {
        let failure = store_failure(&network(NetworkCause::Refused, false));
        assert_eq!(
            failure.message,
            "r.example:5000: it failed; check the port and that the registry is running"
        );
        assert!(!failure.message.contains("--plain-http"));
        let mut no_port = network(NetworkCause::Refused, false);
        if let StoreError::Network { location, .. } = &mut no_port {
            *location = "r.example".into();
        }
        assert!(store_failure(&no_port).message.ends_with(
            "packreg connects to 443 (HTTPS): name the registry's port, as in r.example:5000"
        ));
        assert!(has_port("[::1]:5000") && !has_port("[::1]") && !has_port("h"));
    }

    #[test]
    fn plain_http_to_a_tls_port_advises_leaving_out_plain_http() {
        let failure = store_failure(&network(NetworkCause::PlainHttpToTls, true));
        assert!(
            failure.message.ends_with("; leave out --plain-http (and `plain_http = true` from the registry's section of config.toml)"),
            "{}",
            failure.message
        );
        assert_eq!(failure.kind, Kind::Tls);
        assert_eq!(
            store_failure(&network(NetworkCause::Reset, false)).message,
            "r.example:5000: it failed; try again"
        );
    }

    #[test]
    fn a_slow_transfer_and_a_spent_retry_budget_name_their_flags() {
        let limit = |limit| StoreError::Limit {
            location: "r.example:5000".into(),
            limit,
        };
        let slow = store_failure(&limit(RemoteLimit::TransferRate { min_rate: 1024 }));
        assert!(slow.message.contains("--min-rate KIB"), "{}", slow.message);
        let spent = store_failure(&limit(RemoteLimit::RetryBudget {
            retries: 3,
            waited_secs: 300,
        }));
        assert!(
            spent.message.contains("--retry-budget"),
            "{}",
            spent.message
        );
    }

    #[test]
    fn an_idle_timeout_advises_the_timeout_flag_and_variable() {
        let failure = store_failure(&network(NetworkCause::Timeout, true));
        assert!(
            failure.message.ends_with(
                "; try again, or raise the limit with --timeout (such as --timeout 2m) or PACKREG_TIMEOUT"
            ),
            "{}",
            failure.message
        );
        assert_eq!(failure.kind, Kind::Timeout);
    }

    #[test]
    fn a_refused_catalog_advises_naming_the_pack() {
        let err = StoreError::CatalogRefused {
            location: "h".into(),
        };
        assert!(store_failure(&err)
            .message
            .ends_with("; list one pack's versions with `packreg ls NAME`"));
        let err = OpError::NoPackNames {
            location: "h".into(),
        };
        let failure = op_failure(&err);
        assert!(failure.message.contains("`packreg index rebuild NAME...`"));
        assert_eq!(failure.kind, Kind::Denied);
    }

    #[test]
    fn a_conflict_or_a_full_folder_advises_force() {
        let err = OpError::Conflict {
            reference: "r/a:1".into(),
            existing: packreg::digest::Digest::of(b"x"),
        };
        let failure = op_failure(&err);
        assert!(failure.message.ends_with("or pass --force to replace it"));
        assert_eq!(failure.kind, Kind::Conflict);
        let failure = op_failure(&OpError::OutputExists("out".into()));
        assert_eq!(
            failure.message,
            "out: exists and is not empty; pass --force to replace it, or choose another folder with -o"
        );
    }

    #[test]
    fn a_tag_moved_under_a_push_is_a_conflict_that_says_what_is_there() {
        let d = packreg::digest::Digest::of(b"x");
        let err = OpError::TagMoved {
            reference: "r/a:1".into(),
            written: d.clone(),
            now: Some(packreg::digest::Digest::of(b"y")),
        };
        let failure = op_failure(&err);
        assert_eq!(failure.kind, Kind::Conflict);
        assert_eq!(failure.code, 1);
        assert!(failure.message.contains("another writer changed it"));
        assert!(failure.message.contains("`packreg inspect`"));
        let gone = OpError::TagMoved {
            reference: "r/a:1".into(),
            written: d,
            now: None,
        };
        assert!(op_failure(&gone).message.contains("it is gone"));
    }

    #[test]
    fn a_store_error_inside_an_operation_keeps_its_advice_and_kind() {
        let failure = op_failure(&OpError::Store(network(NetworkCause::Timeout, false)));
        assert!(failure.message.contains("--timeout"));
        assert_eq!(failure.kind, Kind::Timeout);
        let missing = OpError::Store(StoreError::NotFound {
            what: "tag 1 of a".into(),
            location: "oci:/x".into(),
        });
        assert_eq!(op_failure(&missing).kind, Kind::NotFound);
    }

    #[test]
    fn a_warning_gets_its_remedy_in_words_once() {
        let mut warnings = vec![
            Warning::with_remedy(
                "the pack index x was not updated (boom)",
                Remedy::RebuildIndex,
            ),
            Warning::from("plain".to_string()),
        ];
        word_warnings(&mut warnings);
        word_warnings(&mut warnings);
        assert_eq!(
            warnings[0].text,
            "the pack index x was not updated (boom); `packreg index rebuild NAME` repairs it"
        );
        assert_eq!(warnings[1].text, "plain");
        assert_eq!(
            serde_json::to_value(&warnings[0]).unwrap(),
            warnings[0].text.as_str()
        );
    }

    #[test]
    fn remedies_name_the_command_flag_or_variable() {
        assert!(remedy_words(Remedy::CheckAddressAndCredentials).contains("`packreg login`"));
        assert!(remedy_words(Remedy::NameThePacks).contains("--names-from"));
        assert!(remedy_words(Remedy::PageSizeSetting).contains("PACKREG_PAGE_SIZE"));
        assert!(remedy_words(Remedy::PushPaletteFormat).contains("--format palette"));
        let empty = op_failure(&OpError::EmptyBundle("b.tar".into()));
        assert!(empty
            .message
            .ends_with("was it written by `packreg export`?"));
        assert_eq!(empty.kind, Kind::InvalidInput);
    }

    #[test]
    fn a_bad_namespace_advises_the_namespace_flag() {
        let err = PackError::BadNamespace {
            path: "c.tgz".into(),
            namespace: "Bad_NS".into(),
        };
        assert_eq!(
            pack_failure(&err).message,
            "c.tgz: namespace \"Bad_NS\" is not a valid Kubernetes namespace; pass --namespace with lowercase letters, digits and '-'"
        );
    }

    #[test]
    fn a_missing_home_advises_registry_config() {
        assert_eq!(
            auth_failure(&AuthError::NoDockerConfig).message,
            "~/.docker/config.json: HOME is not set; pass --registry-config FILE"
        );
    }

    #[test]
    fn a_failed_pack_of_a_mirror_gets_its_advice() {
        let err = OpError::Store(network(NetworkCause::NotTls, false));
        let mut failures = vec![packreg::ops::mirror::MirrorFailure {
            pack: "shop".into(),
            tag: None,
            error: err.to_string(),
            cause: Some(std::sync::Arc::new(err)),
        }];
        word_failures(&mut failures);
        assert_eq!(
            failures[0].error,
            "r.example:5000: it failed; add --plain-http if it is a plain-HTTP registry"
        );
        assert!(failures[0].cause.is_none());
    }

    fn missing(pack: &str, exists: bool, similar: &[&str], versions: &[&str]) -> OpError {
        OpError::PackNotFound(Box::new(PackNotFound {
            pack: packreg::reference::PackRef::parse(pack).unwrap(),
            location: "r:5000".into(),
            pack_exists: exists,
            similar_packs: similar.iter().map(|s| s.to_string()).collect(),
            versions: versions.iter().map(|s| s.to_string()).collect(),
            version_count: versions.len(),
            similar_tags: Vec::new(),
        }))
    }

    #[test]
    fn a_missing_pack_names_the_nearest_packs() {
        let failure = op_failure(&missing("webap", false, &["webapp"], &[]));
        assert_eq!(
            failure.message,
            "pack webap not found in r:5000; did you mean webapp?"
        );
        assert_eq!(failure.kind, Kind::NotFound);
        let failure = op_failure(&missing(
            "web:1.0.0",
            false,
            &["webapi", "webapp", "x"],
            &[],
        ));
        assert!(failure
            .message
            .ends_with("did you mean webapi, webapp or x?"));
        let failure = op_failure(&missing("zzz", false, &[], &[]));
        assert!(failure
            .message
            .ends_with("`packreg ls` lists the packs there"));
    }

    #[test]
    fn a_missing_version_names_the_versions_there() {
        let failure = op_failure(&missing("webapp:v1.5.0", true, &[], &["1.4.0", "1.5.0"]));
        assert_eq!(
            failure.message,
            "webapp:v1.5.0 not found in r:5000; versions have no leading v: 1.5.0"
        );
        let failure = op_failure(&missing("webapp:2.0.0", true, &[], &["1.4.0", "1.5.0"]));
        assert!(failure.message.ends_with("; its versions: 1.4.0, 1.5.0"));
        let OpError::PackNotFound(mut many) = missing("webapp:2.0.0", true, &[], &["1.5.0"]) else {
            unreachable!()
        };
        many.version_count = 30;
        let failure = op_failure(&OpError::PackNotFound(many));
        assert!(failure.message.ends_with(
            "the nearest of its 30 versions: 1.5.0 (`packreg ls webapp` lists them all)"
        ));
    }

    #[test]
    fn kinds_serialise_in_snake_case() {
        assert_eq!(
            serde_json::to_value(Kind::InvalidInput).unwrap(),
            "invalid_input"
        );
        assert_eq!(serde_json::to_value(Kind::NotFound).unwrap(), "not_found");
    }
}
