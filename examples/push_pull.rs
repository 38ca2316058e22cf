//! Pushes a pack to a local OCI layout store, lists the store and pulls the pack back.
//!
//! ```sh
//! cargo run --example push_pull -- testdata/packs/shop
//! ```

use std::path::PathBuf;

use packreg::ops::{list, pull, push, PullOptions, PushOptions};
use packreg::reference::PackRef;
use packreg::store::open_store;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pack_dir: PathBuf = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "testdata/packs/shop".into())
        .into();
    let work = tempfile::tempdir()?;
    let registry = format!("oci:{}", work.path().join("store").display());
    let store = open_store(
        Some(&registry),
        &packreg::config::builtin_store_options(&Default::default()),
    )
    .await?;

    let pushed = push(store.as_ref(), &pack_dir, &PushOptions::default()).await?;
    println!("pushed {} as {}", pushed.reference, pushed.digest);

    for row in list(store.as_ref(), None, None).await? {
        println!("{} {} {} {}", row.name, row.version, row.format, row.digest);
    }

    let out = work.path().join("pulled");
    let pack_ref = PackRef::parse(&pushed.name)?;
    let opts = PullOptions {
        output: Some(out.clone()),
        ..PullOptions::default()
    };
    let pulled = pull(store.as_ref(), &pack_ref, &opts).await?;
    println!(
        "pulled {} {} into {}",
        pulled.name,
        pulled.version,
        pulled.dir.display()
    );
    Ok(())
}
