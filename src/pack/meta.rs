//! The typed `pack.json`. Every struct keeps the fields it does not know in `extra`, and every
//! field is optional, so reading and writing a pack.json keeps its content. Known keys are
//! written in struct order; artifacts always carry the file's own bytes, never a rewrite.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Unknown keys of an object, in document order.
pub type Extra = IndexMap<String, Value>;

/// The metadata file at the root of a pack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackJson {
    /// Pack name; also the repository name on a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human-readable name shown by Palette.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Pack version (semver, no leading `v`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Profile layer: kernel, os, k8s, cni, csi or addon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Add-on category (for `layer: addon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addon_type: Option<String>,
    /// Add-on sub-category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addon_sub_type: Option<String>,
    /// Clouds the pack supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_types: Option<Vec<String>>,
    /// Legacy single-cloud field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_type: Option<String>,
    /// Pack group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// End-of-life marker, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol: Option<Value>,
    /// Free-form string annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<IndexMap<String, String>>,
    /// Chart archives, relative to the pack root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charts: Option<Vec<String>>,
    /// Kubernetes manifests, relative to the pack root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_manifests: Option<Vec<String>>,
    /// Ansible roles, relative to the pack root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ansible_roles: Option<Vec<String>>,
    /// Dependency and resource constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Constraints>,
    /// Fields this version of packreg does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `constraints` of a pack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraints {
    /// Packs this pack needs, allows or refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<Dependency>>,
    /// Minimum resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `constraints.dependencies`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// The other pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_name: Option<String>,
    /// Its layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Lowest accepted version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Highest accepted version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
    /// required, optional, notSupported or upgrade.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `constraints.resources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// cpu, memory or diskSize.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The minimum, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_limit: Option<serde_json::Number>,
    /// Which components the limit applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Component>>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of a resource constraint's `components`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Scope of the limit (for example `cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Component names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PackJson {
    /// Parses pack.json bytes; on failure returns the field path (`a.b[0].c`, empty at the
    /// root) and serde's message.
    pub fn parse(bytes: &[u8]) -> Result<PackJson, (String, String)> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize::<_, PackJson>(&mut de) {
            Ok(meta) => {
                de.end().map_err(|e| (String::new(), e.to_string()))?;
                Ok(meta)
            }
            Err(err) => {
                let path = err.path().to_string();
                let path = if path == "." || path == "?" {
                    String::new()
                } else {
                    path
                };
                Err((path, err.into_inner().to_string()))
            }
        }
    }

    /// Writes the document as pretty JSON with a trailing newline.
    pub fn to_pretty_json(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The name, or "" when absent.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The version, or "" when absent.
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or("")
    }

    /// The layer, or "" when absent.
    pub fn layer(&self) -> &str {
        self.layer.as_deref().unwrap_or("")
    }

    /// The display name, or "" when absent.
    pub fn display_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{
  "addonType": "ingress",
  "annotations": {"source": "community", "zz": "1"},
  "cloudTypes": ["all"],
  "displayName": "Nginx",
  "charts": ["charts/ingress-nginx-4.0.1.tgz"],
  "layer": "addon",
  "name": "nginx",
  "version": "1.2.3",
  "kubeManifests": [],
  "someFutureField": {"nested": [1, 2.5, null, true]},
  "constraints": {
    "dependencies": [{"packName": "k8s", "layer": "k8s", "minVersion": "1.20", "type": "optional", "x": 1}],
    "resources": [{"type": "cpu", "minLimit": 2000, "components": [{"scope": "cluster", "names": ["a"], "y": "z"}]}],
    "other": "kept"
  },
  "eol": "2025-01-01",
  "group": "nginx"
}"#;

    #[test]
    fn round_trip_keeps_every_field_and_key_order() {
        let meta = PackJson::parse(FULL.as_bytes()).unwrap();
        let written = meta.to_pretty_json();
        let original: Value = serde_json::from_str(FULL).unwrap();
        let again: Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(original, again);
        assert_eq!(PackJson::parse(&written).unwrap(), meta);
        assert_eq!(meta.extra.get("someFutureField").unwrap()["nested"][1], 2.5);
    }

    #[test]
    fn wrong_type_names_the_field() {
        let (path, msg) =
            PackJson::parse(br#"{"constraints":{"dependencies":[{"type": 3}]}}"#).unwrap_err();
        assert_eq!(path, "constraints.dependencies[0].type");
        assert!(msg.contains("invalid type"), "{msg}");
    }

    #[test]
    fn syntax_error_is_reported() {
        assert!(PackJson::parse(b"{\"name\": ").is_err());
        assert!(PackJson::parse(b"{} trailing").is_err());
    }
}
