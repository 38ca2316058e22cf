//! Naming rules shared by validation and the registry layout.

/// Layers Palette knows.
pub const LAYERS: &[&str] = &["kernel", "os", "k8s", "cni", "csi", "addon"];

/// Cloud types Palette accepts in `cloudTypes`.
pub const CLOUD_TYPES: &[&str] = &[
    "all",
    "aws",
    "azure",
    "gcp",
    "vsphere",
    "openstack",
    "baremetal",
    "maas",
    "aks",
    "eks",
    "tke",
    "edge",
    "libvirt",
    "edge-native",
    "coxedge",
    "tencent",
    "custom",
];

/// Accepted `constraints.dependencies[].type` values.
pub const DEPENDENCY_TYPES: &[&str] = &["required", "optional", "notSupported", "upgrade"];

/// Accepted `constraints.resources[].type` values.
pub const RESOURCE_TYPES: &[&str] = &["cpu", "memory", "diskSize"];

/// Whether `name` is one OCI repository path component:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn is_repository_component(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &name[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// The registry tag for a pack version: `+` (semver build metadata) becomes `_`, as Helm does.
pub fn version_to_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// Whether `tag` is a valid OCI tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let first = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let rest = |b: u8| first(b) || b == b'.' || b == b'-';
    !bytes.is_empty()
        && bytes.len() <= 128
        && first(bytes[0])
        && bytes[1..].iter().all(|&b| rest(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_components() {
        for ok in [
            "nginx",
            "ingress-nginx",
            "a.b",
            "a_b",
            "a__b",
            "a---b",
            "k8s",
            "1",
        ] {
            assert!(is_repository_component(ok), "{ok}");
        }
        for bad in [
            "", "Nginx", "-a", "a-", "a..b", "a___b", "a/b", "a b", "a._b", "ü",
        ] {
            assert!(!is_repository_component(bad), "{bad}");
        }
    }

    #[test]
    fn tags() {
        assert_eq!(version_to_tag("1.2.3+build.5"), "1.2.3_build.5");
        assert!(is_valid_tag("1.2.3_build.5"));
        assert!(is_valid_tag("_x"));
        assert!(!is_valid_tag(".x"));
        assert!(!is_valid_tag("-x"));
        assert!(!is_valid_tag(&"1".repeat(129)));
        assert!(is_valid_tag(&"1".repeat(128)));
        assert!(!is_valid_tag("1.0 beta"));
    }
}
