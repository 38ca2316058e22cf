//! A reader in front of the tar crate that enforces the unpacking limits. The tar crate reads
//! GNU long names (`L`, `K`) and PAX records (`x`) into memory whole and has no limits of its
//! own, so a 1 MB layer declaring a 1 GiB long name makes it allocate 1 GiB. This reader
//! follows the tar structure as the bytes pass (headers, PAX `size` overrides, GNU sparse
//! extension blocks, exactly as tar 0.4 reads them) and fails before a header's data is read
//! when the header declares more than allowed; it also caps the total bytes and the number of
//! headers.

use std::io::{self, Read};

use crate::limits::{UnpackLimits, ENV_MAX_ENTRIES, ENV_MAX_TAR_HEADER_BYTES};

const BLOCK: usize = 512;

/// A limit the archive exceeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// More uncompressed bytes than allowed.
    #[error("unpacks to more than {limit} bytes; a layer may unpack to {ratio} times its compressed size and at most PACKREG_MAX_UNPACKED_BYTES (set PACKREG_MAX_UNPACK_RATIO or PACKREG_MAX_UNPACKED_BYTES to raise this for content you trust)")]
    Bytes {
        /// The cap that applied.
        limit: u64,
        /// The ratio in force.
        ratio: u64,
    },
    /// More tar headers than allowed.
    #[error("holds more than {limit} tar entries (set {ENV_MAX_ENTRIES} to raise this for content you trust)")]
    Entries {
        /// The cap.
        limit: u64,
    },
    /// A long-name or PAX header larger than allowed.
    #[error("has a tar {kind} header declaring {size} bytes, more than the {limit} allowed (set {ENV_MAX_TAR_HEADER_BYTES} to raise this for content you trust)")]
    Header {
        /// `long name`, `long link name`, `PAX` or `global PAX`.
        kind: &'static str,
        /// Declared size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// An entry size that overflows.
    #[error("has a tar entry declaring a size of {0} bytes, which overflows")]
    Overflow(u64),
}

#[derive(Debug)]
enum State {
    /// Collecting a 512-byte header block.
    Header,
    /// Collecting a GNU sparse extension block; data of `size` bytes follows them.
    SparseExt { size: u64 },
    /// Passing an entry's data and padding.
    Data { left: u64 },
    /// After the end-of-archive block: the tar crate reads no further.
    Done,
}

/// Wraps the uncompressed tar stream `inner`.
pub struct TarGuard<R> {
    inner: R,
    limits: UnpackLimits,
    cap: u64,
    passed: u64,
    entries: u64,
    state: State,
    block: Vec<u8>,
    /// Data of a PAX `x` header being collected, and how much of it is still to come.
    pax: Option<(Vec<u8>, u64)>,
    /// The `size` a collected PAX header sets for the next entry.
    pax_size: Option<u64>,
}

impl<R: Read> TarGuard<R> {
    /// Guards `inner`, which may yield at most `cap` bytes (see
    /// [`UnpackLimits::unpacked_cap`]).
    pub fn new(inner: R, limits: UnpackLimits, cap: u64) -> Self {
        TarGuard {
            inner,
            limits,
            cap,
            passed: 0,
            entries: 0,
            state: State::Header,
            block: Vec::with_capacity(BLOCK),
            pax: None,
            pax_size: None,
        }
    }

    /// Headers seen so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    fn observe(&mut self, mut bytes: &[u8]) -> Result<(), LimitExceeded> {
        self.passed = self.passed.saturating_add(bytes.len() as u64);
        if self.passed > self.cap {
            return Err(LimitExceeded::Bytes {
                limit: self.cap,
                ratio: self.limits.max_ratio,
            });
        }
        while !bytes.is_empty() {
            match self.state {
                State::Done => return Ok(()),
                State::Header | State::SparseExt { .. } => {
                    let take = (BLOCK - self.block.len()).min(bytes.len());
                    self.block.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if self.block.len() == BLOCK {
                        self.on_block()?;
                        self.block.clear();
                    }
                }
                State::Data { left } => {
                    let take = left.min(bytes.len() as u64) as usize;
                    if let Some((buf, want)) = &mut self.pax {
                        let keep = (*want).min(take as u64) as usize;
                        buf.extend_from_slice(&bytes[..keep]);
                        *want -= keep as u64;
                    }
                    bytes = &bytes[take..];
                    let left = left - take as u64;
                    self.state = State::Data { left };
                    if left == 0 {
                        self.end_data();
                    }
                }
            }
        }
        Ok(())
    }

    fn end_data(&mut self) {
        if let Some((buf, _)) = self.pax.take() {
            self.pax_size = pax_size(&buf);
        }
        self.state = State::Header;
    }

    fn on_block(&mut self) -> Result<(), LimitExceeded> {
        if let State::SparseExt { size } = self.state {
            // Byte 504 of an extension block says whether another follows.
            self.state = if self.block[504] == 1 {
                State::SparseExt { size }
            } else {
                self.data(size)?
            };
            return Ok(());
        }
        if self.block.iter().all(|b| *b == 0) {
            self.state = State::Done;
            return Ok(());
        }
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(LimitExceeded::Entries {
                limit: self.limits.max_entries,
            });
        }
        let mut raw = [0u8; BLOCK];
        raw.copy_from_slice(&self.block);
        let header = tar::Header::from_byte_slice(&raw);
        let Ok(mut size) = header.entry_size() else {
            // The tar crate fails on this header itself.
            self.state = State::Done;
            return Ok(());
        };
        let kind = header.entry_type();
        let extension = match kind {
            tar::EntryType::GNULongName => Some("long name"),
            tar::EntryType::GNULongLink => Some("long link name"),
            tar::EntryType::XHeader => Some("PAX"),
            tar::EntryType::XGlobalHeader => Some("global PAX"),
            _ => None,
        };
        if let Some(kind) = extension {
            if size > self.limits.max_header_bytes {
                return Err(LimitExceeded::Header {
                    kind,
                    size,
                    limit: self.limits.max_header_bytes,
                });
            }
        } else if let Some(pax) = self.pax_size.take() {
            // As tar does: a PAX `size` overrides the next entry's header.
            size = pax;
        }
        let recognised = header.as_gnu().is_some() || header.as_ustar().is_some();
        if kind == tar::EntryType::XHeader && recognised {
            self.pax = Some((Vec::new(), size));
        }
        let sparse_ext =
            kind == tar::EntryType::GNUSparse && header.as_gnu().is_some_and(|g| g.is_extended());
        self.state = if sparse_ext {
            State::SparseExt { size }
        } else {
            self.data(size)?
        };
        if matches!(self.state, State::Data { left: 0 }) {
            self.end_data();
        }
        Ok(())
    }

    fn data(&self, size: u64) -> Result<State, LimitExceeded> {
        let padded = size
            .checked_add(BLOCK as u64 - 1)
            .ok_or(LimitExceeded::Overflow(size))?
            & !(BLOCK as u64 - 1);
        Ok(State::Data { left: padded })
    }
}

/// The `size` record of PAX data, read as the tar crate reads it (first `size`, none when a
/// record before it is malformed).
fn pax_size(data: &[u8]) -> Option<u64> {
    for ext in tar::PaxExtensions::new(data) {
        let ext = ext.ok()?;
        if ext.key() != Ok("size") {
            continue;
        }
        return ext.value().ok()?.parse::<u64>().ok();
    }
    None
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(n)
    }
}

/// The limit an I/O error of a guarded read reports, if it is one.
pub fn limit_of(err: &io::Error) -> Option<&LimitExceeded> {
    err.get_ref()?.downcast_ref::<LimitExceeded>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> UnpackLimits {
        UnpackLimits {
            max_unpacked_bytes: 1 << 20,
            max_ratio: 100,
            max_entries: 10,
            max_header_bytes: 4096,
        }
    }

    fn read_all(tar: &[u8], limits: UnpackLimits) -> io::Result<Vec<String>> {
        let guard = TarGuard::new(tar, limits, limits.max_unpacked_bytes);
        let mut archive = tar::Archive::new(guard);
        let mut names = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            names.push(entry.path()?.to_string_lossy().into_owned());
            io::copy(&mut entry, &mut io::sink())?;
        }
        Ok(names)
    }

    fn long_name_tar(len: usize) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        builder
            .append_data(&mut header, "d/".repeat(len / 2) + "f", &b"abc"[..])
            .unwrap();
        builder.into_inner().unwrap()
    }

    #[test]
    fn long_names_pass_under_the_cap_and_fail_over_it() {
        assert_eq!(read_all(&long_name_tar(1000), limits()).unwrap().len(), 1);
        let err = read_all(&long_name_tar(8000), limits()).unwrap_err();
        assert!(
            matches!(limit_of(&err), Some(LimitExceeded::Header { .. })),
            "{err}"
        );
    }

    #[test]
    fn pax_sizes_keep_the_guard_in_step() {
        // A PAX header before each entry whose `size` overrides the header's 0: the guard
        // must follow it to count the entries that come after.
        let mut builder = tar::Builder::new(Vec::new());
        for i in 0..4 {
            let record = b"12 size=700\n";
            let mut pax = tar::Header::new_ustar();
            pax.set_path("PaxHeader").unwrap();
            pax.set_entry_type(tar::EntryType::XHeader);
            pax.set_size(record.len() as u64);
            pax.set_cksum();
            builder.append(&pax, &record[..]).unwrap();
            let mut header = tar::Header::new_ustar();
            header.set_path(format!("f{i}")).unwrap();
            header.set_size(0);
            header.set_cksum();
            builder.append(&header, &[7u8; 700][..]).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        assert_eq!(read_all(&tar, limits()).unwrap().len(), 4);
        let few = UnpackLimits {
            max_entries: 5,
            ..limits()
        };
        let err = read_all(&tar, few).unwrap_err();
        assert!(
            matches!(limit_of(&err), Some(LimitExceeded::Entries { limit: 5 })),
            "{err}"
        );
    }

    #[test]
    fn total_bytes_are_capped() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(2 << 20);
        builder
            .append_data(&mut header, "big", io::repeat(0).take(2 << 20))
            .unwrap();
        let tar = builder.into_inner().unwrap();
        let err = read_all(&tar, limits()).unwrap_err();
        assert!(
            matches!(limit_of(&err), Some(LimitExceeded::Bytes { .. })),
            "{err}"
        );
    }
}
