//! A bundle opened for reading, without a registry: unpacked into a staging folder, every
//! blob checked against its digest and its table of contents against what arrived, then read
//! as the OCI layout store it holds (`catalog --bundle` shows what an air-gapped site received).

use std::fs::File;
use std::path::Path;

use super::super::OpError;
use super::{bundle_error, verify_layout_blobs, BundleContents};
use crate::archive::{extract_tar, ExtractOptions};
use crate::reference::PACKS_PREFIX;
use crate::staging::Staging;
use crate::store::layout::LayoutStore;
use crate::store::Store;

/// An unpacked bundle: its layout store, removed with it when dropped.
pub struct OpenBundle {
    /// The packs (and images) the bundle holds.
    pub layout: LayoutStore,
    /// Where it is unpacked; removed on drop.
    _staging: Staging,
}

/// Unpacks `bundle` (as `import` does, with the same checks) and opens it as a store.
pub async fn open(bundle: &Path) -> Result<OpenBundle, OpError> {
    open_in(bundle, "packreg-bundle-").await
}

/// [`open`], unpacking into a staging folder named `prefix…`. The tar's structure is checked
/// first (a cut or damaged bundle is named as such, and one cut at an entry boundary is
/// caught by its missing end marker), every blob against its digest, the table of contents
/// against what arrived, and every manifest's graph for completeness: a truncated or edited
/// bundle is refused before anything reads it.
pub(super) async fn open_in(bundle: &Path, prefix: &str) -> Result<OpenBundle, OpError> {
    let staging = Staging::create(prefix).map_err(|e| bundle_error(bundle, e))?;
    let tree = staging.path().join("layout");
    std::fs::create_dir_all(&tree).map_err(|e| bundle_error(&tree, e))?;
    let (bundle_path, tree_for_task) = (bundle.to_path_buf(), tree.clone());
    tokio::task::spawn_blocking(move || -> Result<(), OpError> {
        super::scan::scan(&bundle_path)?;
        let file = File::open(&bundle_path).map_err(|e| bundle_error(&bundle_path, e))?;
        // `packreg export` writes files and folders only: links are refused. A plain tar
        // unpacks to its own size at most, so only the header and entry limits apply.
        let size = file
            .metadata()
            .map_err(|e| bundle_error(&bundle_path, e))?
            .len();
        let opts = ExtractOptions {
            allow_links: false,
            cap: size,
            ..ExtractOptions::new(None)
        };
        extract_tar(std::io::BufReader::new(file), &tree_for_task, &opts)
            .map_err(|e| bundle_error(&bundle_path, e))?;
        verify_layout_blobs(&tree_for_task)?;
        Ok(())
    })
    .await??;
    let layout = LayoutStore::new(&tree);
    if let Some(contents) = BundleContents::read(bundle, &tree)? {
        contents.check(bundle, &layout).await?;
    }
    if layout.repositories(PACKS_PREFIX).await?.is_empty() {
        return Err(OpError::EmptyBundle(bundle.to_path_buf()));
    }
    // Packs and the images carried with them.
    for repo in &layout.repositories("").await? {
        super::check_complete(&layout, repo)
            .await
            .map_err(|e| bundle_error(bundle, e))?;
    }
    Ok(OpenBundle {
        layout,
        _staging: staging,
    })
}
