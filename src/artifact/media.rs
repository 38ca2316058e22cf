//! Media types and annotation keys of packreg's artifacts.

/// `artifactType` of a native pack.
pub const ARTIFACT_TYPE: &str = "application/vnd.packreg.pack.v1";
/// Config of a native pack: the exact bytes of pack.json.
pub const CONFIG: &str = "application/vnd.packreg.pack.config.v1+json";
/// pack.json as a file layer.
pub const METADATA: &str = "application/vnd.packreg.pack.metadata.v1+json";
/// values.yaml as a file layer.
pub const VALUES: &str = "application/vnd.packreg.pack.values.v1+yaml";
/// A packaged Helm chart, as Helm pushes it.
pub const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// Manifest annotation: the pack's layer.
pub const ANNOTATION_LAYER: &str = "io.packreg.pack.layer";
/// Manifest annotation: the pack's display name.
pub const ANNOTATION_DISPLAY_NAME: &str = "io.packreg.pack.displayName";
/// Manifest annotation: the message of a forced push.
pub const ANNOTATION_MESSAGE: &str = "io.packreg.push.message";
/// Layer annotation: file mode of an executable top-level file (`0755`).
pub const ANNOTATION_FILE_MODE: &str = "io.packreg.file.mode";
/// Layer annotation: digest of the uncompressed tar of a Palette-format layer.
pub const ANNOTATION_TAR_DIGEST: &str = "io.packreg.content.digest";

/// Media type of a top-level file layer, from its name.
pub fn file_media_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "md" => "text/markdown",
        "txt" => "text/plain",
        "yaml" | "yml" => "application/yaml",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}
