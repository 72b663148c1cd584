//! Disk images: `cargo xtask adapt-image` (append a gen-kexec ESP to a
//! legacy BIOS image, without root) and `cargo xtask inspect` (show what an
//! image holds).
//!
//! One module per on-disk structure (`mbr`, `gpt`, `eltorito`, `iso9660`,
//! `fat`), one for the input tarball, one for the copy, one per command.
//! Everything works on plain files through positioned reads and writes, so
//! no loop devices, mounts or root are needed.

pub mod adapt;
mod conf;
mod copy;
pub(crate) mod eltorito;
mod extread;
pub(crate) mod fat;
mod fatfix;
mod fatread;
pub(crate) mod gpt;
pub mod inspect;
mod inspect_ext;
mod inspect_fat;
mod inspect_grub;
mod iso9660;
pub(crate) mod mbr;
mod refuse;
mod table;
mod tarball;
mod verify;

use std::fs::File;
use std::os::unix::fs::FileExt;

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

/// Bytes per logical sector of the disk images we handle.
pub const SECTOR: u64 = 512;
/// Partition alignment: 1 MiB, as fdisk and sfdisk do (a multiple of the
/// 2048-byte CD sector, as El Torito load addresses need).
pub const ALIGN: u64 = 1 << 20;
pub const MIB: u64 = 1 << 20;

/// This module's sources, sorted by name: `inspect --source-id` prints
/// their hash, so the tests can tell their own build of the xtask from
/// another worktree's in a shared target directory.
const SOURCES: &[(&str, &str)] = &[
    ("adapt.rs", include_str!("adapt.rs")),
    ("conf.rs", include_str!("conf.rs")),
    ("copy.rs", include_str!("copy.rs")),
    ("eltorito.rs", include_str!("eltorito.rs")),
    ("extread.rs", include_str!("extread.rs")),
    ("fat.rs", include_str!("fat.rs")),
    ("fatfix.rs", include_str!("fatfix.rs")),
    ("fatread.rs", include_str!("fatread.rs")),
    ("gpt.rs", include_str!("gpt.rs")),
    ("inspect.rs", include_str!("inspect.rs")),
    ("inspect_ext.rs", include_str!("inspect_ext.rs")),
    ("inspect_ext_tests.rs", include_str!("inspect_ext_tests.rs")),
    ("inspect_fat.rs", include_str!("inspect_fat.rs")),
    ("inspect_grub.rs", include_str!("inspect_grub.rs")),
    ("iso9660.rs", include_str!("iso9660.rs")),
    ("mbr.rs", include_str!("mbr.rs")),
    ("mod.rs", include_str!("mod.rs")),
    ("refuse.rs", include_str!("refuse.rs")),
    ("table.rs", include_str!("table.rs")),
    ("tarball.rs", include_str!("tarball.rs")),
    ("verify.rs", include_str!("verify.rs")),
];

pub fn source_id() -> String {
    let mut all = Vec::new();
    for (name, text) in SOURCES {
        all.extend_from_slice(name.as_bytes());
        all.push(0);
        all.extend_from_slice(text.as_bytes());
        all.push(0);
    }
    crate::stamp::sha256_bytes(&all)
}

/// For the ext4 fuzz target: the regular files of an ext2/3/4 filesystem
/// (the whole file), two levels down, read through `inspect`'s reader.
pub fn ext_walk(file: &File, len: u64) -> String {
    let ext = match extread::open(file, 0, len, "fuzz") {
        Ok(e) => e,
        Err(e) => return format!("{e:#}"),
    };
    let mut out = format!("{} {:?} {}", ext.fstype, ext.label, ext.uuid);
    for dir in ["/", "/boot", "/boot/grub", "/loader/entries"] {
        for name in ext.list(dir) {
            let p = format!("{}/{name}", dir.trim_end_matches('/'));
            match ext.read_max(&p, 1 << 20) {
                Ok(b) => out.push_str(&format!(" {p}:{:?}", b.map(|b| b.len()))),
                Err(e) => out.push_str(&format!(" {p}:{e}")),
            }
        }
    }
    out
}

pub fn align_up(value: u64, align: u64) -> u64 {
    value.div_ceil(align) * align
}

/// Read exactly `len` bytes at `offset`, naming the file on error.
pub fn read_at(file: &File, path: &Utf8Path, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)
        .with_context(|| format!("{path}: cannot read {len} bytes at offset {offset}"))?;
    Ok(buf)
}

pub fn write_at(file: &File, path: &Utf8Path, offset: u64, bytes: &[u8]) -> Result<()> {
    file.write_all_at(bytes, offset).with_context(|| {
        format!(
            "{path}: cannot write {} bytes at offset {offset}",
            bytes.len()
        )
    })
}

/// Parse a size such as `16M`, `16MiB`, `100m`, `512K` or `16777216`
/// (binary units).
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let num: u64 = num.parse().with_context(|| {
        format!("size {text:?}: expected a number with an optional unit K, M or G")
    })?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => bail!("size {text:?}: unknown unit {unit:?} (use K, M or G: binary units)"),
    };
    num.checked_mul(mult)
        .with_context(|| format!("size {text:?} is too large"))
}

pub fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_id_covers_every_file_of_the_module() {
        let dir = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("src/image");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".rs"))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = SOURCES.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, listed, "SOURCES must list src/image/*.rs, sorted");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16M").unwrap(), 16 << 20);
        assert_eq!(parse_size("100MiB").unwrap(), 100 << 20);
        assert_eq!(parse_size("512k").unwrap(), 512 << 10);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
    }

    #[test]
    fn alignment() {
        assert_eq!(align_up(0, ALIGN), 0);
        assert_eq!(align_up(1, ALIGN), ALIGN);
        assert_eq!(align_up(ALIGN, ALIGN), ALIGN);
    }
}
