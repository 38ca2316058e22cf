//! packreg stores Palette packs in OCI registries and local OCI image layouts.
//!
//! The crate is layered as the repository's `docs/architecture.md` describes:
//! [`pack`] models a pack folder (pack.json, values, charts) and validates it; [`archive`]
//! writes reproducible tar+gzip streams. The command-line tool is a thin layer over this
//! library.
//!
//! ```no_run
//! let report = packreg::pack::validate(std::path::Path::new("./my-pack"));
//! for finding in &report.findings {
//!     println!("{finding}");
//! }
//! assert!(report.valid);
//! ```

#![warn(missing_docs)]

pub mod archive;
pub mod artifact;
pub mod auth;
pub mod config;
pub mod digest;
pub mod error;
pub mod fsutil;
pub mod image;
pub mod limits;
pub mod name;
pub mod oci;
pub mod ops;
pub mod pack;
pub mod reference;
pub mod resume;
pub mod sign;
pub mod staging;
pub mod store;
pub mod tag_grammar;
pub mod version_range;

pub use error::PackError;
