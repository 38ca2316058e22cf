//! Every bound packreg puts on content it reads from a store or a bundle, in one place. The
//! defaults are generous for real packs and small against a hostile one; the unpacking limits
//! can be raised with environment variables for trusted content that needs more (read by
//! [`crate::config`], which sets them in force for the process).

/// A manifest or index read from a store or a bundle, at most (the distribution default).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// A local store's or bundle's `index.json`, at most.
pub const MAX_INDEX_BYTES: u64 = MAX_MANIFEST_BYTES;
/// pack.json, or a config blob, at most.
pub const MAX_PACK_JSON_BYTES: u64 = 4 * 1024 * 1024;

/// Environment variable: total uncompressed bytes one layer or bundle may unpack to.
pub const ENV_MAX_UNPACKED_BYTES: &str = "PACKREG_MAX_UNPACKED_BYTES";
/// Environment variable: how many times its compressed size a layer may unpack to.
pub const ENV_MAX_UNPACK_RATIO: &str = "PACKREG_MAX_UNPACK_RATIO";
/// Environment variable: tar headers (entries, long names, PAX records) per archive.
pub const ENV_MAX_ENTRIES: &str = "PACKREG_MAX_ENTRIES";
/// Environment variable: size of one GNU long-name or PAX header's data.
pub const ENV_MAX_TAR_HEADER_BYTES: &str = "PACKREG_MAX_TAR_HEADER_BYTES";

/// Default of [`ENV_MAX_UNPACKED_BYTES`]: 16 GiB.
pub const DEFAULT_MAX_UNPACKED_BYTES: u64 = 16 * 1024 * 1024 * 1024;
/// Default of [`ENV_MAX_UNPACK_RATIO`]. Text packs compress about 5:1; 100:1 is left only by
/// runs of zeros, which is what a decompression bomb is made of.
pub const DEFAULT_MAX_UNPACK_RATIO: u64 = 100;
/// The ratio never limits a layer below this many bytes: tiny layers of tiny files compress
/// better than any ratio (a tar header is mostly zeros).
pub const UNPACK_RATIO_FLOOR: u64 = 64 * 1024 * 1024;
/// Default of [`ENV_MAX_ENTRIES`].
pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;
/// Default of [`ENV_MAX_TAR_HEADER_BYTES`]: 1 MiB (a path is at most 4 KiB on Linux).
pub const DEFAULT_MAX_TAR_HEADER_BYTES: u64 = 1024 * 1024;

/// The unpacking limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Total uncompressed bytes, absolute.
    pub max_unpacked_bytes: u64,
    /// Uncompressed bytes per compressed byte declared.
    pub max_ratio: u64,
    /// Tar headers per archive.
    pub max_entries: u64,
    /// Data of one `L`, `K`, `x` or `g` header.
    pub max_header_bytes: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_unpacked_bytes: DEFAULT_MAX_UNPACKED_BYTES,
            max_ratio: DEFAULT_MAX_UNPACK_RATIO,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_header_bytes: DEFAULT_MAX_TAR_HEADER_BYTES,
        }
    }
}

/// The limits the command line set for this process, and the warnings about the values it
/// could not use (see [`UnpackLimits::set_in_force`]).
static IN_FORCE: std::sync::OnceLock<(UnpackLimits, Vec<String>)> = std::sync::OnceLock::new();

impl UnpackLimits {
    /// Makes `limits` (resolved from the environment by [`crate::config`]) the limits of this
    /// process; the first call wins. `warnings` (variables set to unusable values) are logged
    /// when the limits are first used, so a command that unpacks nothing stays quiet.
    pub fn set_in_force(limits: UnpackLimits, warnings: Vec<String>) {
        let _ = IN_FORCE.set((limits, warnings));
    }

    /// The limits of this process: those set by [`UnpackLimits::set_in_force`], else the
    /// defaults.
    pub fn in_force() -> Self {
        static WARNED: std::sync::Once = std::sync::Once::new();
        match IN_FORCE.get() {
            Some((limits, warnings)) => {
                WARNED.call_once(|| {
                    for warning in warnings {
                        tracing::warn!("{warning}");
                    }
                });
                *limits
            }
            None => UnpackLimits::default(),
        }
    }

    /// How many uncompressed bytes a stream may yield: the absolute cap, and for a compressed
    /// layer of `declared` bytes also `ratio × declared` (never below [`UNPACK_RATIO_FLOOR`]).
    pub fn unpacked_cap(&self, declared: Option<u64>) -> u64 {
        match declared {
            Some(size) => self
                .max_ratio
                .saturating_mul(size)
                .max(UNPACK_RATIO_FLOOR)
                .min(self.max_unpacked_bytes),
            None => self.max_unpacked_bytes,
        }
    }
}

/// Reads at most `limit` bytes of `reader`; more is an error naming `what` and the limit.
pub fn read_bounded(
    reader: impl std::io::Read,
    limit: u64,
    what: &str,
) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(reader, limit.saturating_add(1)),
        &mut bytes,
    )?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            TooLarge {
                what: what.to_string(),
                limit,
            },
        ));
    }
    Ok(bytes)
}

/// A document larger than packreg reads.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} is larger than {}, the most packreg reads", human(*.limit))]
pub struct TooLarge {
    /// What was read.
    pub what: String,
    /// The limit in bytes.
    pub limit: u64,
}

/// `4 MiB`, `16 GiB`, or bytes.
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// Manifests and indexes a registry sends are read up to this, the distribution default (the
/// same bound as [`MAX_MANIFEST_BYTES`]).
pub const MANIFEST_LIMIT: u64 = MAX_MANIFEST_BYTES;
/// A registry's listing pages, tokens and error bodies are read up to 1 MiB.
pub const SMALL_BODY_LIMIT: u64 = 1024 * 1024;
/// `diff --patch`: the largest file a patch is made for (a patch of more is unreadable).
pub const PATCH_LIMIT: u64 = 1024 * 1024;
/// `diff`: the largest pack.json or values.yaml read for a comparison.
pub const DOCUMENT_LIMIT: u64 = 16 * 1024 * 1024;
/// Largest Chart.yaml or values.yaml packreg reads from a chart; real ones are kilobytes.
pub const MAX_CHART_FILE: u64 = 16 * 1024 * 1024;
/// The largest settings file read: a hand-written file is a few hundred bytes.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// The largest pack index document read or written (about 200 bytes an entry).
pub const MAX_PACK_INDEX_BYTES: u64 = 16 * 1024 * 1024;
/// The most entries (tags and removals) a pack index document holds.
pub const MAX_PACK_INDEX_ENTRIES: usize = 50_000;

/// A listing (tags, referrers) follows at most this many `Link` pages.
pub const MAX_LISTING_PAGES: u64 = 5_000;
/// A listing holds at most this many entries (tags or referrers).
pub const MAX_LISTING_ENTRIES: u64 = 1_000_000;
/// The pages of one listing add up to at most this many bytes.
pub const MAX_LISTING_BYTES: u64 = 256 * 1024 * 1024;
/// The bytes sent for one blob, over every chunk sent again, are at most this many times its
/// size (a registry that never confirms progress would otherwise take the same chunk for ever).
pub const UPLOAD_SEND_FACTOR: u64 = 4;
/// The longest wait a registry's `Retry-After` gets, whatever it asks.
pub const MAX_RETRY_AFTER_SECS: u64 = 60;

/// A bound on what a registry may cost packreg, reached: the library names the bound, the
/// command line the setting that raises it (when one does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteLimit {
    /// A listing had more `Link` pages than [`MAX_LISTING_PAGES`].
    #[error("the listing has more than {0} pages, the most packreg follows")]
    ListingPages(u64),
    /// A listing had more entries than [`MAX_LISTING_ENTRIES`].
    #[error("the listing has more than {0} entries, the most packreg takes")]
    ListingEntries(u64),
    /// A listing's pages added up to more than [`MAX_LISTING_BYTES`].
    #[error("the listing's pages add up to more than {}, the most packreg reads", human(*.0))]
    ListingBytes(u64),
    /// Sending one blob took more than [`UPLOAD_SEND_FACTOR`] times its size: the registry
    /// keeps asking for bytes it was already sent.
    #[error("the registry kept asking for the same bytes: {} sent for a blob of {}, the most packreg sends", human(*.sent), human(*.size))]
    UploadBytes {
        /// Bytes sent so far.
        sent: u64,
        /// The blob's size.
        size: u64,
    },
    /// The command's retries waited their budget away.
    #[error("the registry kept failing: the command's retries used their budget ({retries} retries, {waited_secs} s waited)")]
    RetryBudget {
        /// Retries made by the command.
        retries: u32,
        /// Seconds waited between them.
        waited_secs: u64,
    },
    /// A transfer went slower than the minimum rate.
    #[error("the transfer went slower than {} per second, the least packreg waits for", human(*.min_rate))]
    TransferRate {
        /// The minimum rate in bytes per second.
        min_rate: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_cap_has_a_floor_and_a_ceiling() {
        let l = UnpackLimits::default();
        assert_eq!(l.unpacked_cap(Some(1)), UNPACK_RATIO_FLOOR);
        assert_eq!(l.unpacked_cap(Some(1 << 30)), DEFAULT_MAX_UNPACKED_BYTES);
        assert_eq!(l.unpacked_cap(Some(u64::MAX)), DEFAULT_MAX_UNPACKED_BYTES);
        assert_eq!(l.unpacked_cap(Some(10 << 20)), 1000 << 20);
        assert_eq!(l.unpacked_cap(None), DEFAULT_MAX_UNPACKED_BYTES);
    }

    #[test]
    fn bounded_reads_refuse_one_byte_more() {
        assert_eq!(read_bounded(&b"abcd"[..], 4, "x").unwrap(), b"abcd");
        let err = read_bounded(&b"abcde"[..], 4, "index.json").unwrap_err();
        let too = err.get_ref().unwrap().downcast_ref::<TooLarge>().unwrap();
        assert_eq!(too.limit, 4);
        assert!(err
            .to_string()
            .contains("index.json is larger than 4 bytes"));
        assert_eq!(human(4 << 20), "4 MiB");
    }
}
