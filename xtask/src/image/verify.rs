//! Re-read a freshly written output before it gets its final name: the
//! partition table parses and holds the ESP, the El Torito entry points at
//! it, the ISO 9660 volume is intact, and the FAT filesystem mounts with
//! every file byte for byte.

use std::fs::File;

use anyhow::{bail, ensure, Context, Result};
use camino::Utf8Path;

use super::table::probe;
use super::{eltorito, fat, iso9660, SECTOR};

pub fn output(
    path: &Utf8Path,
    start: u64,
    len: u64,
    el_torito_entry: bool,
    had_iso: bool,
    files: &[(String, Vec<u8>)],
) -> Result<()> {
    let check = || -> Result<()> {
        let file = File::open(path)?;
        let image = probe(&file, path)?;
        let (first, count) = (start / SECTOR, len / SECTOR);
        let found = image
            .partitions()
            .into_iter()
            .find(|p| p.start == first && p.sectors == count);
        ensure!(
            found.is_some(),
            "the partition table has no entry for sectors {first}..{}",
            first + count
        );
        ensure!(
            image.iso.is_some() == had_iso,
            "the ISO 9660 volume descriptors changed"
        );
        if el_torito_entry {
            let et = image
                .el_torito
                .as_ref()
                .context("the El Torito catalog is gone")?;
            let want = ((start / iso9660::CD_SECTOR) as u32, count as u16);
            ensure!(
                et.catalog.entries.iter().any(
                    |e| e.platform == eltorito::PLATFORM_EFI && (e.load_rba, e.sectors) == want
                ),
                "the El Torito catalog has no UEFI entry for the ESP"
            );
        }
        let summary =
            fat::summarize(&file, start, len).context("the FAT filesystem does not mount")?;
        ensure!(
            summary.label.trim_end() == fat::LABEL,
            "the FAT label is {:?}",
            summary.label
        );
        for (name, bytes) in files {
            let back = fat::read_file(&file, start, len, name)
                .with_context(|| format!("/{name} is missing"))?;
            if back != *bytes {
                bail!(
                    "/{name} reads back {} bytes that differ from the tarball's {}",
                    back.len(),
                    bytes.len()
                );
            }
        }
        Ok(())
    };
    check().with_context(|| {
        format!("{path}: the written image does not check out (this is a bug in adapt-image)")
    })
}
