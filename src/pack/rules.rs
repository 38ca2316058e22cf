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

pub use crate::reference::{is_repository_component, is_valid_tag, version_to_tag};
