//! Where the kernel proper sits inside a kernel image file.
//!
//! An x86 `bzImage` (with or without the EFI stub's PE header in front) is
//! real-mode setup code followed by a small decompressor and the compressed
//! kernel. The Linux boot protocol (Documentation/arch/x86/boot.rst) says
//! where: `setup_sects` at 0x1f1 gives the size of the setup code in
//! 512-byte sectors (plus the boot sector; 0 means 4), the magic `HdrS` at
//! 0x202 marks the setup header, its version is at 0x206, and from version
//! 2.08 on `payload_offset` (0x248) and `payload_length` (0x24c) locate the
//! compressed payload relative to the start of the protected-mode code.
//!
//! Also accepted: an uncompressed `vmlinux` ELF file (searched as is) and a
//! plain compressed stream such as `vmlinux.gz` or `Image.xz`.

use anyhow::{bail, Result};

use super::decompress::Format;

const SETUP_SECTS: usize = 0x1f1;
const BOOT_FLAG: usize = 0x1fe;
const HEADER_MAGIC: usize = 0x202;
const PROTOCOL_VERSION: usize = 0x206;
const PAYLOAD_OFFSET: usize = 0x248;
const PAYLOAD_LENGTH: usize = 0x24c;
/// `payload_offset`/`payload_length` exist from boot protocol 2.08 on.
const PAYLOAD_FIELDS_SINCE: u16 = 0x0208;

/// What a kernel image file holds, and where the kernel proper is.
#[derive(Debug, PartialEq, Eq)]
pub enum Kernel<'a> {
    /// An x86 bzImage: `payload` is its compressed kernel (usually with the
    /// uncompressed size appended in 4 bytes, which decoders ignore).
    BzImage {
        protocol: u16,
        payload_offset: usize,
        payload: &'a [u8],
    },
    /// An uncompressed ELF `vmlinux`.
    Elf(&'a [u8]),
    /// A whole file that is one compressed stream (`vmlinux.gz`, ...).
    Compressed(Format, &'a [u8]),
}

impl Kernel<'_> {
    /// One line for messages: what was found.
    pub fn describe(&self) -> String {
        match self {
            Kernel::BzImage {
                protocol,
                payload_offset,
                payload,
            } => format!(
                "bzImage (boot protocol {}.{:02}), {} payload of {} at offset {:#x}",
                protocol >> 8,
                protocol & 0xff,
                Format::detect(payload).map_or("unknown", Format::name),
                size(payload.len()),
                payload_offset
            ),
            Kernel::Elf(data) => format!("uncompressed ELF vmlinux of {}", size(data.len())),
            Kernel::Compressed(f, data) => format!("{} stream of {}", f.name(), size(data.len())),
        }
    }
}

/// A byte count for humans: `8.2 MB`, `613 KB`, `12 bytes`.
pub fn size(n: usize) -> String {
    match n {
        0..1000 => format!("{n} bytes"),
        1000..1_000_000 => format!("{} KB", n / 1000),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

fn le16(data: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([data[at], data[at + 1]])
}

fn le32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"))
}

/// Say what `image` is and where its kernel is. Errors say what was
/// expected; they do not name the file (the caller adds it).
pub fn locate(image: &[u8]) -> Result<Kernel<'_>> {
    if image.len() > PAYLOAD_LENGTH + 4 && &image[HEADER_MAGIC..HEADER_MAGIC + 4] == b"HdrS" {
        return bzimage(image);
    }
    if image.starts_with(b"\x7fELF") {
        return Ok(Kernel::Elf(image));
    }
    if let Some(format) = Format::detect(image) {
        return Ok(Kernel::Compressed(format, image));
    }
    if image.len() > HEADER_MAGIC + 4 && le16(image, BOOT_FLAG) == 0xaa55 {
        bail!(
            "has a boot sector signature but no Linux setup header (`HdrS` at {HEADER_MAGIC:#x}): \
             not a Linux bzImage"
        );
    }
    bail!(
        "not a Linux kernel image: expected an x86 bzImage (`HdrS` at {HEADER_MAGIC:#x}), an ELF \
         vmlinux or a gzip/xz/lzma/bzip2/lz4/zstd-compressed vmlinux"
    )
}

fn bzimage(image: &[u8]) -> Result<Kernel<'_>> {
    let protocol = le16(image, PROTOCOL_VERSION);
    if protocol < PAYLOAD_FIELDS_SINCE {
        bail!(
            "bzImage with boot protocol {}.{:02}: the payload location is only recorded from \
             2.08 (Linux 2.6.26) on; extract the kernel with scripts/extract-vmlinux and pass the \
             vmlinux instead",
            protocol >> 8,
            protocol & 0xff
        );
    }
    let setup_sects = match image[SETUP_SECTS] {
        0 => 4,
        n => usize::from(n),
    };
    let protected_mode = (setup_sects + 1) * 512;
    let offset = le32(image, PAYLOAD_OFFSET) as usize;
    let length = le32(image, PAYLOAD_LENGTH) as usize;
    let start = protected_mode + offset;
    let end = start.saturating_add(length);
    if length == 0 || end > image.len() {
        bail!(
            "bzImage setup header puts the compressed kernel at bytes {start}..{end} \
             (setup_sects {setup_sects}, payload_offset {offset:#x}, payload_length {length}) \
             but the file has {} bytes: truncated or corrupt",
            image.len()
        );
    }
    Ok(Kernel::BzImage {
        protocol,
        payload_offset: start,
        payload: &image[start..end],
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A made-up bzImage: `setup_sects` sectors of setup code after the
    /// boot sector, `pad` bytes of "decompressor", then `payload` and a
    /// 4-byte size trailer, as the kernel's build lays it out.
    pub fn fake_bzimage(setup_sects: u8, pad: usize, payload: &[u8]) -> Vec<u8> {
        let sects = if setup_sects == 0 {
            4
        } else {
            setup_sects as usize
        };
        let mut img = vec![0u8; (sects + 1) * 512 + pad];
        img[0..2].copy_from_slice(b"MZ");
        img[SETUP_SECTS] = setup_sects;
        img[BOOT_FLAG..BOOT_FLAG + 2].copy_from_slice(&0xaa55u16.to_le_bytes());
        img[HEADER_MAGIC..HEADER_MAGIC + 4].copy_from_slice(b"HdrS");
        img[PROTOCOL_VERSION..PROTOCOL_VERSION + 2].copy_from_slice(&0x020fu16.to_le_bytes());
        img[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4].copy_from_slice(&(pad as u32).to_le_bytes());
        let len = payload.len() as u32 + 4;
        img[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4].copy_from_slice(&len.to_le_bytes());
        img.extend_from_slice(payload);
        img.extend_from_slice(&0x1234_5678u32.to_le_bytes());
        img.extend_from_slice(b"trailing setup data and signature");
        img
    }

    #[test]
    fn finds_the_payload_from_the_setup_header() {
        for (sects, pad) in [(27u8, 0x3b0usize), (0, 16), (1, 0)] {
            let img = fake_bzimage(sects, pad, b"\x1f\x8b\x08payload");
            let Kernel::BzImage {
                protocol, payload, ..
            } = locate(&img).unwrap()
            else {
                panic!("not a bzImage")
            };
            assert_eq!(protocol, 0x020f);
            assert_eq!(
                payload, b"\x1f\x8b\x08payload\x78\x56\x34\x12",
                "sects {sects}"
            );
        }
    }

    #[test]
    fn a_payload_past_the_end_is_an_error() {
        let mut img = fake_bzimage(4, 100, b"\x1f\x8b\x08payload");
        img.truncate(img.len() - 40);
        let e = locate(&img).unwrap_err().to_string();
        assert!(
            e.contains("truncated or corrupt") && e.contains("payload_length 14"),
            "{e}"
        );
    }

    #[test]
    fn old_protocols_and_strangers_are_refused() {
        let mut img = fake_bzimage(4, 0, b"xx");
        img[PROTOCOL_VERSION] = 0x04; // 2.04
        let e = locate(&img).unwrap_err().to_string();
        assert!(e.contains("boot protocol 2.04"), "{e}");
        let e = locate(b"just some text that is not a kernel at all")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a Linux kernel image"), "{e}");
        let mut mbr = vec![0u8; 1024];
        mbr[BOOT_FLAG..BOOT_FLAG + 2].copy_from_slice(&[0x55, 0xaa]);
        let e = locate(&mbr).unwrap_err().to_string();
        assert!(e.contains("no Linux setup header"), "{e}");
    }

    #[test]
    fn elf_and_plain_streams_are_taken_whole() {
        assert!(matches!(
            locate(b"\x7fELF\x02\x01\x01rest"),
            Ok(Kernel::Elf(_))
        ));
        assert!(matches!(
            locate(b"\xfd7zXZ\0rest"),
            Ok(Kernel::Compressed(Format::Xz, _))
        ));
    }
}
