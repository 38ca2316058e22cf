//! Deterministic parallel gzip: a `Write` adapter that cuts its input into blocks of
//! [`BLOCK_SIZE`] bytes, deflates each block on its own (no dictionary carried over) with
//! libdeflate on a pool of threads, and writes the results in order as ONE gzip member, as
//! pigz does: every block but the last ends with a sync flush (an empty stored block, so the
//! next starts on a byte; see `deflate_blocks`), the last is finished, and the CRC-32 of the
//! whole input is combined from the blocks' CRCs.
//!
//! The bytes depend only on the input, [`BLOCK_SIZE`], [`GZIP_LEVEL`] and the libdeflate
//! version pinned in Cargo.lock (its CPU-specific code changes speed, not output), never on
//! the number of threads.
//!
//! One member rather than one member per block (BGZF): flate2's `read::GzDecoder` (every
//! earlier packreg) and Python's streaming `tarfile.open(mode="r|gz")` stop after the first
//! member, silently cutting the archive.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::Crc;
use libdeflater::{CompressionLvl, Compressor};

use super::deflate_blocks::continue_after;
use super::GZIP_LEVEL;

/// Bytes of input deflated independently. Changing it changes artifact digests.
pub const BLOCK_SIZE: usize = 1 << 20;

/// Most deflating threads: with [`ParGzEncoder::new`]'s blocks in flight (threads + 2, each
/// about twice [`BLOCK_SIZE`] with its output) the encoder holds at most about 20 MiB.
pub const MAX_THREADS: usize = 8;

/// gzip header: deflate, no flags, no mtime, no extra flags, OS 255 (unknown).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// A block to deflate: its place in the stream, its bytes, whether it ends the stream.
struct Job {
    seq: u64,
    data: Vec<u8>,
    last: bool,
}

/// A deflated block: its place, its deflate bytes and the CRC-32 of its input.
type Done = (u64, io::Result<(Vec<u8>, Crc)>);

/// The worker threads and the channels to and from them.
struct Pool {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    fn start(threads: usize) -> Pool {
        let (jobs, inbox) = channel::<Job>();
        let (outbox, done) = channel::<Done>();
        let inbox = Arc::new(Mutex::new(inbox));
        let workers = (0..threads)
            .map(|_| {
                let inbox = Arc::clone(&inbox);
                let outbox = outbox.clone();
                std::thread::spawn(move || {
                    let mut deflater = new_deflater();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match inbox.lock() {
                            Ok(inbox) => inbox.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panic becomes an error, so the writer waiting for this block wakes.
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            deflate_block(&mut deflater, &job.data, job.last)
                        }))
                        .unwrap_or_else(|_| Err(io::Error::other("deflate panicked")));
                        if outbox.send((job.seq, result)).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Pool {
            jobs: Some(jobs),
            done,
            workers,
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the job channel ends every worker once its current block is done.
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// A gzip compressor over `W` that deflates blocks in parallel; see the module comment.
/// Call [`ParGzEncoder::finish`] to write the end of the stream.
pub struct ParGzEncoder<W: Write> {
    inner: Option<W>,
    /// The block being filled.
    block: Vec<u8>,
    /// None when deflating on the calling thread.
    pool: Option<Pool>,
    /// Deflater of the calling thread (one thread).
    deflater: Compressor,
    /// Blocks sent to the pool and not yet written.
    in_flight: usize,
    /// Most blocks in flight at once: bounds memory.
    max_in_flight: usize,
    /// Sequence number of the next block sent and of the next block to write.
    next_seq: u64,
    next_write: u64,
    /// Blocks done out of order, waiting for their turn.
    waiting: BTreeMap<u64, (Vec<u8>, Crc)>,
    /// CRC-32 and length of the input written out so far.
    crc: Crc,
    header_written: bool,
    finished: bool,
}

impl<W: Write> ParGzEncoder<W> {
    /// A compressor with as many threads as the machine has cores, up to [`MAX_THREADS`].
    pub fn new(inner: W) -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(MAX_THREADS);
        Self::with_threads(inner, threads)
    }

    /// A compressor deflating on `threads` threads (1: on the calling thread only).
    pub fn with_threads(inner: W, threads: usize) -> Self {
        let threads = threads.max(1);
        ParGzEncoder {
            inner: Some(inner),
            block: Vec::with_capacity(BLOCK_SIZE),
            pool: (threads > 1).then(|| Pool::start(threads)),
            deflater: new_deflater(),
            in_flight: 0,
            max_in_flight: threads + 2,
            next_seq: 0,
            next_write: 0,
            waiting: BTreeMap::new(),
            crc: Crc::new(),
            header_written: false,
            finished: false,
        }
    }

    /// Deflates what is left, writes the trailer and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        let last = std::mem::take(&mut self.block);
        self.submit(last, true)?;
        self.drain_until(0)?;
        let crc = self.crc.sum().to_le_bytes();
        // ISIZE is the input length modulo 2^32 (RFC 1952).
        let size = self.crc.amount().to_le_bytes();
        self.finished = true;
        let mut inner = self.inner.take().ok_or_else(gone)?;
        inner.write_all(&crc)?;
        inner.write_all(&size)?;
        Ok(inner)
    }

    fn inner(&mut self) -> io::Result<&mut W> {
        self.inner.as_mut().ok_or_else(gone)
    }

    /// Deflates `data` (on the pool, or here), writing out whatever block is next in order.
    fn submit(&mut self, data: Vec<u8>, last: bool) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.inner()?.write_all(&HEADER)?;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let Some(pool) = &self.pool else {
            let done = deflate_block(&mut self.deflater, &data, last)?;
            return self.write_block(done);
        };
        let jobs = pool.jobs.as_ref().ok_or_else(gone)?;
        jobs.send(Job { seq, data, last }).map_err(|_| gone())?;
        self.in_flight += 1;
        self.drain_until(self.max_in_flight - 1)
    }

    /// Waits for blocks until at most `limit` are in flight, writing them in order.
    fn drain_until(&mut self, limit: usize) -> io::Result<()> {
        while self.in_flight > limit {
            let pool = self.pool.as_ref().ok_or_else(gone)?;
            let (seq, result) = pool.done.recv().map_err(|_| gone())?;
            self.in_flight -= 1;
            self.waiting.insert(seq, result?);
            while let Some(done) = self.waiting.remove(&self.next_write) {
                self.write_block(done)?;
            }
        }
        Ok(())
    }

    fn write_block(&mut self, (bytes, crc): (Vec<u8>, Crc)) -> io::Result<()> {
        self.next_write += 1;
        self.crc.combine(&crc);
        self.inner()?.write_all(&bytes)
    }
}

impl<W: Write> Write for ParGzEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.finished {
            return Err(gone());
        }
        let n = buf.len().min(BLOCK_SIZE - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == BLOCK_SIZE {
            let full = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK_SIZE));
            self.submit(full, false)?;
        }
        Ok(n)
    }

    /// Writes out finished blocks; the block being filled stays (flushing it would make the
    /// bytes depend on when flush is called).
    fn flush(&mut self) -> io::Result<()> {
        self.inner()?.flush()
    }
}

fn gone() -> io::Error {
    io::Error::other("the gzip compressor was already finished or its threads stopped")
}

fn new_deflater() -> Compressor {
    let level = CompressionLvl::new(GZIP_LEVEL as i32).unwrap_or_default();
    Compressor::new(level)
}

/// Deflates one block (raw deflate: the gzip header and trailer are written by the encoder):
/// ended by a sync flush, or by the stream's final block when `last`.
fn deflate_block(deflater: &mut Compressor, data: &[u8], last: bool) -> io::Result<(Vec<u8>, Crc)> {
    let mut crc = Crc::new();
    crc.update(data);
    let mut out = vec![0u8; deflater.deflate_compress_bound(data.len())];
    let len = deflater
        .deflate_compress(data, &mut out)
        .map_err(|e| io::Error::other(format!("deflate: {e:?}")))?;
    out.truncate(len);
    if !last {
        continue_after(&mut out).map_err(io::Error::other)?;
    }
    Ok((out, crc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Mixed input: text that compresses and pseudo-random bytes that do not.
    fn sample(len: usize) -> Vec<u8> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut out = Vec::with_capacity(len);
        let mut i = 0u64;
        while out.len() < len {
            i += 1;
            if (i / 500).is_multiple_of(2) {
                out.extend_from_slice(format!("line {i}: kind: Deployment\n").as_bytes());
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out.truncate(len);
        out
    }

    fn compress(data: &[u8], threads: usize, piece: usize) -> Vec<u8> {
        let mut gz = ParGzEncoder::with_threads(Vec::new(), threads);
        for chunk in data.chunks(piece.max(1)) {
            gz.write_all(chunk).unwrap();
        }
        gz.finish().unwrap()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        // The single-member decoder: the whole input must be in the first member.
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn same_bytes_whatever_the_thread_count_or_write_sizes() {
        let data = sample(3 * BLOCK_SIZE + 12_345);
        let one = compress(&data, 1, 1 << 16);
        let four = compress(&data, 4, 7_777);
        assert_eq!(one, four);
        assert_eq!(compress(&data, 3, BLOCK_SIZE * 2), one);
        assert_eq!(gunzip(&one), data);
        assert!(one.len() < data.len(), "the text half compresses");
    }

    #[test]
    fn one_gzip_member_with_packreg_header_and_trailer() {
        let data = sample(2 * BLOCK_SIZE);
        let bytes = compress(&data, 2, 100_000);
        assert_eq!(&bytes[..10], &HEADER);
        let n = bytes.len();
        let mut crc = Crc::new();
        crc.update(&data);
        assert_eq!(&bytes[n - 8..n - 4], &crc.sum().to_le_bytes());
        assert_eq!(&bytes[n - 4..], &(data.len() as u32).to_le_bytes());
        // A single-member decoder reads it all, and nothing follows its end.
        let mut decoder = flate2::read::GzDecoder::new(bytes.as_slice());
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert!(decoder.into_inner().is_empty());
    }

    #[test]
    fn empty_and_exact_block_inputs_round_trip() {
        for len in [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1] {
            let data = sample(len);
            let bytes = compress(&data, 2, 4096);
            assert_eq!(gunzip(&bytes), data, "{len}");
            assert_eq!(bytes, compress(&data, 1, len + 1), "{len}");
        }
    }

    #[test]
    fn golden_digest_of_a_multi_block_stream() {
        // Guards what the one-block sample in mod.rs cannot: cutting, sync flushes, CRC.
        let bytes = compress(&sample(2 * BLOCK_SIZE + 777), 2, 50_000);
        let digest = crate::digest::Digest::of(&bytes);
        assert_eq!(
            digest.hex(),
            GOLDEN_MULTI_BLOCK,
            "compressed stream changed"
        );
    }

    const GOLDEN_MULTI_BLOCK: &str =
        "f2252fc859a909b885af1350d48cddc970e5f5b508df315275c0640000dbc84f";

    #[test]
    fn gnu_gzip_reads_it() {
        if std::process::Command::new("gzip")
            .arg("--version")
            .output()
            .is_err()
        {
            return;
        }
        let data = sample(BLOCK_SIZE * 2 + 99);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        std::fs::write(&path, compress(&data, 2, 65536)).unwrap();
        let out = std::process::Command::new("gzip")
            .args(["-t", "-v"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let out = std::process::Command::new("gzip")
            .args(["-dc"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.stdout, data);
    }

    /// Throughput on every core and on one: `cargo test --release --lib compression_throughput
    /// -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn compression_throughput() {
        use std::time::Instant;
        let mut random = vec![0u8; 256 << 20];
        std::fs::File::open("/dev/urandom")
            .unwrap()
            .read_exact(&mut random)
            .unwrap();
        let mut yaml = Vec::with_capacity(128 << 20);
        let mut i = 0u64;
        while yaml.len() < 128 << 20 {
            i += 1;
            yaml.extend_from_slice(
                format!(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  \
                     labels: {{app: svc-{}}}\nspec:\n  replicas: {}\n  image: reg/img-{}:{}.{}\n---\n",
                    i * 7919 % 1000,
                    i % 5,
                    i * 31 % 977,
                    i % 4,
                    i % 11
                )
                .as_bytes(),
            );
        }
        for (name, data) in [("urandom 256 MiB", &random), ("YAML 128 MiB", &yaml)] {
            let mb = data.len() as f64 / 1e6;
            let start = Instant::now();
            let par = compress(
                data,
                std::thread::available_parallelism().unwrap().get(),
                1 << 16,
            );
            let t_par = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let single = compress(data, 1, 1 << 16);
            let t_single = start.elapsed().as_secs_f64();
            println!(
                "{name}: all cores {:.0} MB/s ({} bytes), one thread {:.0} MB/s ({} bytes)",
                mb / t_par,
                par.len(),
                mb / t_single,
                single.len()
            );
        }
    }
}
