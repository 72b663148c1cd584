//! The compression formats a Linux kernel image may use, detected by their
//! magic numbers (as scripts/extract-ikconfig does) and decompressed in
//! process with pure-Rust or vendored decoders: gzip (flate2), xz and lzma
//! (xz2, liblzma built from source by lzma-sys), bzip2 (bzip2), lz4 (the
//! kernel's *legacy* lz4 frame, decoded here block by block with lz4_flex,
//! whose frame module only reads the modern frame format) and zstd (ruzstd:
//! pure Rust, so the xtask needs no C zstd build, and decompression is all
//! we need).
//!
//! The kernel appends the uncompressed size (4 bytes) after the stream;
//! every decoder here stops at the end of its stream and ignores it.

use std::cell::Cell;
use std::io::Read;

use anyhow::{anyhow, bail, Context, Result};

/// Refuse to inflate more than this (a distribution vmlinux is ~60 MB).
pub const MAX_OUTPUT: u64 = 1 << 30;
thread_local! {
    /// The limit in force on this thread: [`MAX_OUTPUT`], lowered by
    /// `cargo xtask fuzz` so a run stays within its memory budget.
    static LIMIT: Cell<u64> = const { Cell::new(MAX_OUTPUT) };
}

/// Lower (or restore) this thread's output limit, which is also
/// liblzma's memory limit and the largest zstd window accepted.
pub fn set_limit(bytes: u64) {
    LIMIT.with(|l| l.set(bytes.min(MAX_OUTPUT)));
}

fn limit() -> u64 {
    LIMIT.with(Cell::get)
}

/// The lz4 legacy frame: magic, then blocks of `u32 LE compressed size` +
/// data, each decompressing to at most 8 MiB.
const LZ4_LEGACY_MAGIC: [u8; 4] = 0x184C_2102u32.to_le_bytes();
const LZ4_LEGACY_BLOCK: usize = 8 << 20;

/// A ZSTD window up to this is accepted (the kernel's `zstd -22 --ultra`
/// uses 128 MiB).
const ZSTD_MAX_WINDOW: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Xz,
    Lzma,
    Bzip2,
    Lz4Legacy,
    Zstd,
    /// Detected so that the error can say so; not decoded.
    Lzo,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Gzip,
        Format::Xz,
        Format::Lzma,
        Format::Bzip2,
        Format::Lz4Legacy,
        Format::Zstd,
        Format::Lzo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
            Format::Bzip2 => "bzip2",
            Format::Lz4Legacy => "lz4 (legacy frame)",
            Format::Zstd => "zstd",
            Format::Lzo => "lzo",
        }
    }

    /// The magic bytes a stream of this format starts with.
    pub fn magic(self) -> &'static [u8] {
        match self {
            Format::Gzip => b"\x1f\x8b\x08",
            Format::Xz => b"\xfd7zXZ\0",
            // .lzma header: properties 0x5d (lc=3 lp=0 pb=2) and a dictionary
            // size whose low bytes are 0, as extract-ikconfig expects.
            Format::Lzma => b"\x5d\0\0",
            Format::Bzip2 => b"BZh",
            Format::Lz4Legacy => &LZ4_LEGACY_MAGIC,
            Format::Zstd => b"\x28\xb5\x2f\xfd",
            Format::Lzo => b"\x89LZO\0",
        }
    }

    /// The format `data` starts with, if any.
    pub fn detect(data: &[u8]) -> Option<Format> {
        Format::ALL.into_iter().find(|f| {
            data.starts_with(f.magic())
                && (*f != Format::Bzip2 || data.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)))
        })
    }

    /// Decompress the stream at the start of `data` (trailing bytes are
    /// ignored). Errors say which format failed and why.
    pub fn decompress(self, data: &[u8]) -> Result<Vec<u8>> {
        let out = match self {
            Format::Gzip => read_all(flate2::read::GzDecoder::new(data)),
            Format::Xz => xz2::stream::Stream::new_stream_decoder(limit(), 0)
                .map_err(anyhow::Error::from)
                .and_then(|s| liblzma(s, data)),
            Format::Lzma => xz2::stream::Stream::new_lzma_decoder(limit())
                .map_err(anyhow::Error::from)
                .and_then(|s| liblzma(s, data)),
            Format::Bzip2 => read_all(bzip2::read::BzDecoder::new(data)),
            Format::Lz4Legacy => lz4_legacy(data),
            Format::Zstd => ruzstd::decoding::StreamingDecoder::new_with_max_window_size(
                data,
                ZSTD_MAX_WINDOW.min(limit()),
            )
            .map_err(|e| anyhow!("{e}"))
            .and_then(read_all),
            Format::Lzo => bail!(
                "LZO is not supported: decompress the kernel with scripts/extract-vmlinux \
                 (it uses lzop) and pass the resulting vmlinux"
            ),
        };
        out.with_context(|| format!("{} data is corrupt or truncated", self.name()))
    }
}

fn read_all(reader: impl Read) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit() + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit() {
        bail!("decompresses to more than {} bytes: not a kernel", limit());
    }
    if out.is_empty() {
        bail!("decompresses to nothing");
    }
    Ok(out)
}

/// Run a liblzma decoder over `data` up to the end of its stream. (xz2's
/// `Read` adapters call the bytes the kernel appends after the stream
/// corrupt data.)
fn liblzma(mut stream: xz2::stream::Stream, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * 4);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1 << 20));
        }
        let (in_before, out_before) = (stream.total_in(), out.len());
        let rest = &data[in_before as usize..];
        match stream.process_vec(rest, &mut out, xz2::stream::Action::Finish)? {
            xz2::stream::Status::StreamEnd => break,
            _ if stream.total_in() == in_before && out.len() == out_before => {
                bail!(
                    "the stream ends without its end marker after {} bytes",
                    data.len()
                )
            }
            _ => {}
        }
        if out.len() as u64 > limit() {
            bail!("decompresses to more than {} bytes: not a kernel", limit());
        }
    }
    if out.is_empty() {
        bail!("decompresses to nothing");
    }
    Ok(out)
}

/// The legacy lz4 frame as lib/decompress_unlz4.c reads it: blocks until
/// the input ends, a zero block size, or the 4-byte size the kernel
/// appends; a repeated magic starts a concatenated frame.
fn lz4_legacy(data: &[u8]) -> Result<Vec<u8>> {
    let mut rest = data
        .strip_prefix(&LZ4_LEGACY_MAGIC[..])
        .context("no lz4 legacy magic")?;
    let mut out = Vec::new();
    while rest.len() >= 4 {
        let (head, tail) = rest.split_at(4);
        let block_len = u32::from_le_bytes(head.try_into().expect("4 bytes")) as usize;
        if head == LZ4_LEGACY_MAGIC {
            rest = tail;
            continue;
        }
        if block_len == 0 || (tail.is_empty() && !out.is_empty()) {
            break; // end marker, or the kernel's appended size
        }
        if block_len > tail.len() {
            bail!(
                "block at input offset {} claims {block_len} bytes, {} remain",
                data.len() - rest.len(),
                tail.len()
            );
        }
        let start = out.len();
        out.resize(start + LZ4_LEGACY_BLOCK, 0);
        let n = lz4_flex::block::decompress_into(&tail[..block_len], &mut out[start..])
            .map_err(|e| anyhow!("block at input offset {}: {e}", data.len() - rest.len()))?;
        out.truncate(start + n);
        if out.len() as u64 > limit() {
            bail!("decompresses to more than {} bytes: not a kernel", limit());
        }
        rest = &tail[block_len..];
    }
    if out.is_empty() {
        bail!("no lz4 block");
    }
    Ok(out)
}

#[cfg(test)]
pub mod tests {
    use std::io::Write;

    use super::*;

    /// Compress `data` in `format` the way the kernel's build does, with the
    /// 4-byte uncompressed size appended, using the crates only.
    pub fn compress(format: Format, data: &[u8]) -> Vec<u8> {
        let mut out = match format {
            Format::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Format::Xz => {
                let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Format::Lzma => {
                let opts = xz2::stream::LzmaOptions::new_preset(9).unwrap();
                let s = xz2::stream::Stream::new_lzma_encoder(&opts).unwrap();
                let mut e = xz2::write::XzEncoder::new_stream(Vec::new(), s);
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Format::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Format::Lz4Legacy => {
                let mut out = LZ4_LEGACY_MAGIC.to_vec();
                for chunk in data.chunks(LZ4_LEGACY_BLOCK) {
                    let block = lz4_flex::block::compress(chunk);
                    out.extend_from_slice(&(block.len() as u32).to_le_bytes());
                    out.extend_from_slice(&block);
                }
                out
            }
            Format::Zstd => {
                ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
            }
            Format::Lzo => panic!("no LZO encoder"),
        };
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    /// Some kernel-like bytes: repetitive, with a little entropy.
    pub fn sample(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491u32;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if i % 7 == 0 {
                    x as u8
                } else {
                    b"mov %rax, %rbx; ret; "[i % 21]
                }
            })
            .collect()
    }

    #[test]
    fn every_format_round_trips_with_the_size_trailer() {
        let data = sample(200_000);
        for f in Format::ALL.into_iter().filter(|f| *f != Format::Lzo) {
            let packed = compress(f, &data);
            assert_eq!(Format::detect(&packed), Some(f), "{}", f.name());
            assert_eq!(f.decompress(&packed).unwrap(), data, "{}", f.name());
        }
    }

    #[test]
    fn lz4_legacy_spans_several_blocks_and_concatenated_frames() {
        let data = sample(1 << 16).repeat(2 * LZ4_LEGACY_BLOCK / (1 << 16) + 1);
        let mut packed = compress(Format::Lz4Legacy, &data[..LZ4_LEGACY_BLOCK + 1]);
        packed.truncate(packed.len() - 4);
        packed.extend(compress(Format::Lz4Legacy, &data[LZ4_LEGACY_BLOCK + 1..]));
        assert_eq!(Format::Lz4Legacy.decompress(&packed).unwrap(), data);
    }

    #[test]
    fn truncated_streams_are_errors_naming_the_format() {
        let data = sample(100_000);
        for f in Format::ALL.into_iter().filter(|f| *f != Format::Lzo) {
            let packed = compress(f, &data);
            let cut = &packed[..packed.len() / 2];
            let e = format!("{:#}", f.decompress(cut).unwrap_err());
            assert!(
                e.starts_with(&format!("{} data is corrupt or truncated", f.name())),
                "{e}"
            );
        }
    }

    #[test]
    fn detection_needs_the_whole_magic() {
        assert_eq!(Format::detect(b"BZh9rest"), Some(Format::Bzip2));
        assert_eq!(Format::detect(b"BZhx"), None);
        assert_eq!(Format::detect(b"\x1f\x8b"), None);
        assert_eq!(Format::detect(b"\x89LZO\0\r\n"), Some(Format::Lzo));
        let e = format!("{:#}", Format::Lzo.decompress(b"\x89LZO\0").unwrap_err());
        assert!(e.contains("LZO is not supported"), "{e}");
    }
}
