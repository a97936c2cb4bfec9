//! Layers compressed while they stream, as `docker push` does:
//! deterministically (fixed level, no timestamp: one layer, one digest) and
//! over every core ([`parallel_compress`]; zstd with `--compress zstd`),
//! into the pieces of an upload's body. No temp file, no second pass;
//! memory stays flat (a few 1 MiB buffers).

use std::io::{Read, Write};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::docker_save::Layer;
use crate::media::{DOCKER_LAYER, DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD};
use crate::plan::digest_of;

/// How uncompressed layers are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Compress {
    /// gzip, as docker push sends them (the default)
    Gzip,
    /// zstd (an OCI manifest then: Docker's schema 2 has no zstd layer type)
    Zstd,
    /// as they are
    None,
}

impl Compress {
    /// The media type of a layer sent in this form, in a Docker or an OCI manifest.
    pub fn layer_type(self, oci: bool) -> &'static str {
        match (self, oci) {
            (Compress::Gzip, false) => DOCKER_LAYER_GZIP,
            (Compress::None, false) => DOCKER_LAYER,
            (Compress::Gzip, true) => OCI_LAYER_GZIP,
            (Compress::Zstd, _) => OCI_LAYER_ZSTD,
            (Compress::None, true) => OCI_LAYER,
        }
    }

    /// The form a layer of this media type was sent in.
    pub fn of_media_type(media_type: &str) -> Option<Self> {
        if media_type.ends_with("gzip") {
            Some(Compress::Gzip)
        } else if media_type.ends_with("zstd") {
            Some(Compress::Zstd)
        } else if media_type.ends_with(".tar") {
            Some(Compress::None)
        } else {
            None
        }
    }
}

/// Starts reading `layer` on a thread of its own, compressed as `compress`
/// says (a layer already gzip is sent as it is, its diff id checked by
/// decompressing on the way), into 256 KiB pieces for the upload's body;
/// the thread's result says what passed.
pub fn spawn(
    layer: &Layer,
    compress: Compress,
    bar: Option<indicatif::ProgressBar>,
) -> (
    tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    std::thread::JoinHandle<std::io::Result<Passed>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    let place = layer.place.clone();
    let already_gzip = layer.gzip;
    let worker = std::thread::spawn(move || -> std::io::Result<Passed> {
        let mut reader = HashingReader {
            inner: place.reader()?,
            hasher: Sha256::new(),
            bar,
        };
        let writer = ChannelWriter {
            tx,
            buf: Vec::with_capacity(PIECE),
            hasher: Sha256::new(),
            size: 0,
        };
        if already_gzip {
            // Sent as it is; the diff id is the hash of what it decompresses to.
            let mut tee = Tee {
                out: writer,
                check: flate2::write::MultiGzDecoder::new(HashSink(Sha256::new())),
            };
            std::io::copy(&mut reader, &mut tee)?;
            let Tee { mut out, check } = tee;
            let sink = check.finish()?;
            out.send()?;
            return Ok(Passed {
                digest: digest_of(out.hasher),
                size: out.size,
                diff_id: digest_of(sink.0),
            });
        }
        let mut writer = match compress {
            Compress::Gzip | Compress::Zstd => {
                let mut writer = writer;
                let reader_back = parallel_compress(reader, &mut writer, compress)?;
                reader = reader_back;
                writer
            }
            Compress::None => {
                let mut writer = writer;
                std::io::copy(&mut reader, &mut writer)?;
                writer
            }
        };
        writer.send()?;
        Ok(Passed {
            digest: digest_of(writer.hasher),
            size: writer.size,
            diff_id: digest_of(reader.hasher),
        })
    });
    (rx, worker)
}

/// The gzip level: fixed, so one layer always gives one digest. Level 3
/// with zlib-rs compresses shared libraries to within 3% of level 6 in
/// 60% of the time (136 MB: 47.7 vs 46.3 MB, 1.0 vs 1.6 s on one core).
const GZIP_LEVEL: u32 = 3;

/// The zstd level: fixed, zstd's own default.
const ZSTD_LEVEL: i32 = 3;

/// Compresses blocks, each on its own into a complete gzip member or zstd
/// frame: the same bytes in, the same bytes out. One a thread, its
/// compressor state kept from block to block (allocating it anew for each
/// 1 MiB block fragmented the heap: memory grew with the layer).
struct Packer {
    form: Compress,
    deflate: flate2::Compress,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl Packer {
    fn new(form: Compress) -> std::io::Result<Self> {
        Ok(Packer {
            form,
            deflate: flate2::Compress::new(flate2::Compression::new(GZIP_LEVEL), false),
            zstd: match form {
                Compress::Zstd => Some(zstd::bulk::Compressor::new(ZSTD_LEVEL)?),
                _ => None,
            },
        })
    }

    /// `block` compressed into `out` (cleared first).
    fn pack(&mut self, block: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        out.clear();
        if let Some(zstd) = &mut self.zstd {
            out.reserve(zstd::zstd_safe::compress_bound(block.len()));
            zstd.compress_to_buffer(block, out)?;
            return Ok(());
        }
        debug_assert!(self.form == Compress::Gzip);
        // RFC 1952: no name, time 0, "unknown" OS, as flate2's GzBuilder
        // writes it; the deflate stream; CRC-32 and size.
        out.reserve(block.len() + block.len() / 64 + 64);
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        self.deflate.reset();
        loop {
            let consumed = self.deflate.total_in() as usize;
            let status = self
                .deflate
                .compress_vec(&block[consumed..], out, flate2::FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            if status == flate2::Status::StreamEnd {
                break;
            }
            out.reserve(64 << 10);
        }
        let mut crc = flate2::Crc::new();
        crc.update(block);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(block.len() as u32).to_le_bytes());
        Ok(())
    }
}

/// One block compressed alone (an empty layer's one member).
fn member(form: Compress, block: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Packer::new(form)?.pack(block, &mut out)?;
    Ok(out)
}

/// The size of the blocks compressed apart.
const BLOCK: usize = 1 << 20;

/// gzip (or zstd) over every core, deterministically: the input is cut
/// into 1 MiB blocks, each compressed on its own into a complete gzip
/// member (fixed level, time 0, no name) or zstd frame, and they are
/// written in order. A multi-member gzip stream is one valid gzip file
/// (RFC 1952), which docker, containerd and every Go reader take, as
/// concatenated frames are one zstd stream; the output depends on the
/// input alone, not on how many threads made it. Memory stays at a few
/// blocks per thread. Returns the reader (its hasher has seen everything).
fn parallel_compress<R: Read + Send, W: Write>(
    input: R,
    out: &mut W,
    form: Compress,
) -> std::io::Result<R> {
    use std::sync::mpsc::sync_channel;
    use std::sync::{Arc, Mutex};
    let threads = compress_threads();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let stop = &stop;
    let budget = Budget::global();
    type Done = (usize, std::io::Result<Vec<u8>>, Vec<u8>);
    std::thread::scope(|scope| {
        let (job_tx, job_rx) = sync_channel::<(usize, Vec<u8>)>(threads);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = sync_channel::<Done>(threads);
        // Buffers go round instead of being allocated for every block:
        // input blocks back to the reader, output buffers back to the workers.
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                let mut packer = match Packer::new(form) {
                    Ok(packer) => packer,
                    Err(e) => {
                        let _ = done_tx.send((usize::MAX, Err(e), Vec::new()));
                        return;
                    }
                };
                loop {
                    let job = job_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((i, block))) = job else { break };
                    let mut out = budget.spare_out();
                    let packed = packer.pack(&block, &mut out).map(|()| out);
                    if done_tx.send((i, packed, block)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        // Blocks read but not yet written are bounded, across every layer
        // compressed at once (--jobs): the reader takes a token of the
        // process's budget for each, the writer gives it back once the
        // block is out. Without this, a worker that falls behind lets the
        // others' blocks pile up (memory grew with the layer), and each
        // layer at once had a budget of its own (memory grew with --jobs).
        let reader = scope.spawn(move || -> std::io::Result<(R, usize)> {
            let mut input = input;
            let mut count = 0;
            // No token: the writer failed and gave up.
            while budget.acquire(stop) {
                let mut block = budget.spare_block();
                block.resize(BLOCK, 0);
                let mut filled = 0;
                while filled < BLOCK {
                    let n = match input.read(&mut block[filled..]) {
                        Ok(n) => n,
                        Err(e) => {
                            budget.release(1);
                            return Err(e);
                        }
                    };
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    budget.release(1);
                    break;
                }
                block.truncate(filled);
                if job_tx.send((count, block)).is_err() {
                    budget.release(1);
                    break;
                }
                count += 1;
                if filled < BLOCK {
                    break;
                }
            }
            Ok((input, count))
        });
        // Members come back in any order: write them in the input's.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        let mut failed = None;
        for (i, compressed, block) in done_rx {
            budget.keep_block(block);
            match compressed {
                Ok(bytes) => {
                    waiting.insert(i, bytes);
                }
                Err(e) => {
                    failed.get_or_insert(e);
                    budget.release(1);
                }
            }
            while let Some(bytes) = waiting.remove(&next) {
                if failed.is_none()
                    && let Err(e) = out.write_all(&bytes)
                {
                    failed = Some(e);
                }
                budget.keep_out(bytes);
                next += 1;
                budget.release(1);
            }
            if failed.is_some() {
                // The reader stops at its next block instead of waiting.
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        // Blocks that can no longer be written (one before them failed).
        budget.release(waiting.len());
        let (input, count) = reader
            .join()
            .map_err(|_| std::io::Error::other("the reading thread stopped"))??;
        if let Some(e) = failed {
            return Err(e);
        }
        if count == 0 {
            // An empty layer is still one (empty) member.
            out.write_all(&member(form, &[])?)?;
        }
        Ok(input)
    })
}

/// The blocks that may be read and not yet written, for the whole process.
struct Budget {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
    /// Buffers go round instead of being allocated for every block: input
    /// blocks and output buffers, at most one of each a token.
    blocks: std::sync::Mutex<Vec<Vec<u8>>>,
    outs: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl Budget {
    /// Two blocks a core and one, shared by every layer compressed at once.
    fn global() -> &'static Budget {
        static BUDGET: std::sync::OnceLock<Budget> = std::sync::OnceLock::new();
        BUDGET.get_or_init(|| Budget {
            free: std::sync::Mutex::new(Self::tokens()),
            freed: std::sync::Condvar::new(),
            blocks: Default::default(),
            outs: Default::default(),
        })
    }

    fn tokens() -> usize {
        compress_threads() * 2 + 1
    }

    fn spare_block(&self) -> Vec<u8> {
        Self::take(&self.blocks)
    }

    fn spare_out(&self) -> Vec<u8> {
        Self::take(&self.outs)
    }

    fn keep_block(&self, block: Vec<u8>) {
        Self::keep(&self.blocks, block);
    }

    fn keep_out(&self, out: Vec<u8>) {
        Self::keep(&self.outs, out);
    }

    fn take(pool: &std::sync::Mutex<Vec<Vec<u8>>>) -> Vec<u8> {
        pool.lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    fn keep(pool: &std::sync::Mutex<Vec<Vec<u8>>>, buffer: Vec<u8>) {
        let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < Self::tokens() && buffer.capacity() > 0 {
            pool.push(buffer);
        }
    }

    /// Waits for a token; false once `stop` is set.
    fn acquire(&self, stop: &std::sync::atomic::AtomicBool) -> bool {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            free = self
                .freed
                .wait_timeout(free, std::time::Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += n;
        self.freed.notify_all();
    }
}

/// Compressing threads a layer: the cores, at most 8.
fn compress_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
}

/// What the compressing thread found once the layer had passed.
pub struct Passed {
    pub digest: String,
    pub size: u64,
    pub diff_id: String,
}

/// The pieces of an upload's body: small, as each layer uploading at once
/// holds a few of them.
const PIECE: usize = 256 << 10;

/// A `Write` that hashes and counts what passes and sends it on in
/// 256 KiB pieces through a bounded channel (the upload's body).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
    hasher: Sha256,
    size: u64,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        self.tx
            .blocking_send(Ok(piece))
            .map_err(|_| std::io::Error::other("the upload stopped"))
    }
}

impl Write for ChannelWriter {
    /// Fills the piece and no more (a bigger write would grow it, and
    /// memory with it); the caller's write_all hands the rest.
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(PIECE - self.buf.len());
        self.hasher.update(&data[..n]);
        self.size += n as u64;
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes to the upload and to a check at once.
struct Tee<W: Write> {
    out: ChannelWriter,
    check: W,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.out.write_all(data)?;
        self.check.write_all(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A `Write` that only hashes.
struct HashSink(Sha256);

impl Write for HashSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.update(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A `Read` that hashes what it reads (the uncompressed layer: its diff id).
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    /// The layer's progress, on a terminal.
    bar: Option<indicatif::ProgressBar>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests that compress share the process's one budget of blocks in
    /// flight: one at a time, so the test that counts the tokens back sees
    /// no other test's (it failed, now and then, when they ran at once).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn alone() -> std::sync::MutexGuard<'static, ()> {
        ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// 3.5 MiB that compress, but not to nothing.
    fn sample() -> Vec<u8> {
        (0..(3 << 20) + (1 << 19))
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8 % 17)
            .collect()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn parallel_gzip_is_one_valid_gzip_stream_of_the_input() {
        let _alone = alone();
        let input = sample();
        let mut out = Vec::new();
        parallel_compress(&input[..], &mut out, Compress::Gzip).unwrap();
        assert!(out.len() < input.len());
        assert_eq!(gunzip(&out), input);
    }

    #[test]
    fn parallel_gzip_gives_the_same_bytes_every_time() {
        let _alone = alone();
        let input = sample();
        let run = || {
            let mut out = Vec::new();
            parallel_compress(&input[..], &mut out, Compress::Gzip).unwrap();
            out
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn parallel_zstd_is_one_valid_zstd_stream_of_the_input() {
        let _alone = alone();
        let input = sample();
        let mut out = Vec::new();
        parallel_compress(&input[..], &mut out, Compress::Zstd).unwrap();
        assert_eq!(&out[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
        assert!(out.len() < input.len());
        assert_eq!(zstd::stream::decode_all(&out[..]).unwrap(), input);
    }

    /// Layers compressed at once share one budget of blocks in flight:
    /// each still comes out whole, none waits forever for a token.
    #[test]
    fn layers_compressed_at_once_share_the_budget_and_all_finish() {
        let _alone = alone();
        let inputs: Vec<Vec<u8>> = (0..4u8)
            .map(|k| sample().into_iter().map(|b| b ^ k).collect())
            .collect();
        let outs: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let handles: Vec<_> = inputs
                .iter()
                .map(|input| {
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        parallel_compress(&input[..], &mut out, Compress::Gzip).unwrap();
                        out
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (input, out) in inputs.iter().zip(&outs) {
            assert_eq!(&gunzip(out), input);
        }
        assert_eq!(
            *Budget::global().free.lock().unwrap(),
            Budget::tokens(),
            "every token back"
        );
    }

    #[test]
    fn parallel_gzip_of_nothing_is_an_empty_gzip_member() {
        let _alone = alone();
        let mut out = Vec::new();
        parallel_compress(&b""[..], &mut out, Compress::Gzip).unwrap();
        assert_eq!(&out[..2], &[0x1f, 0x8b]);
        assert_eq!(gunzip(&out), b"");
    }
}
