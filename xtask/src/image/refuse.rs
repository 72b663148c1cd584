//! Why `adapt-image` refuses to start: inputs it cannot or must not
//! change, outputs it must not write. Everything here runs before the
//! output file is created.

use std::fs::File;
use std::os::unix::fs::MetadataExt;

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

use super::table::{Image, Table};
use super::{fat, mbr, SECTOR};
use crate::fsutil::partial_path;

/// Images whose table we do not change.
pub fn unsupported(input: &Utf8Path, image: &Image) -> Result<()> {
    if let Table::None = image.table {
        bail!(
            "{} is an ISO 9660 image without a partition table (not isohybrid); \
             make it hybrid first (`isohybrid` from syslinux-utils, or xorriso -isohybrid-mbr)",
            input
        );
    }
    let hybrid = image.table.hybrid_mbr_entries();
    if !hybrid.is_empty() {
        let list: Vec<String> = hybrid.iter().map(usize::to_string).collect();
        bail!(
            "{0} has a hybrid MBR (GPT plus MBR partitions {1}): changing both consistently is not \
             supported. Such images usually boot on UEFI already (see `cargo xtask inspect {0}`); if this \
             one does not, make its MBR protective again (gdisk: recovery menu, `n`) and retry",
            input,
            list.join(", ")
        );
    }
    Ok(())
}

/// Refuse to write over the input (same path, hard link, or its
/// `.partial` name) and over an existing output without --force.
pub fn paths(input: &Utf8Path, output: &Utf8Path, force: bool) -> Result<()> {
    let in_meta =
        std::fs::metadata(input).with_context(|| format!("cannot open the input image {input}"))?;
    if !in_meta.is_file() {
        bail!("{input} is not a disk image: not a regular file");
    }
    let same = |p: &Utf8Path| -> bool {
        std::fs::metadata(p).is_ok_and(|m| m.dev() == in_meta.dev() && m.ino() == in_meta.ino())
    };
    if same(output) || same(&partial_path(output)) {
        bail!("the output {output} is the input file {input}: the input is never modified; choose another -o");
    }
    if output.exists() && !force {
        bail!("{output} exists; pass --force to replace it");
    }
    Ok(())
}

/// Adapting twice would add a second gen-kexec partition: refuse.
pub fn adapted(file: &File, input: &Utf8Path, image: &Image) -> Result<()> {
    for p in image.partitions() {
        let (start, len) = (p.start * SECTOR, p.sectors * SECTOR);
        if p.start == 0 || start + len > image.len {
            continue;
        }
        if let Ok(s) = fat::summarize(file, start, len) {
            if s.label.trim_end() == fat::LABEL {
                bail!(
                    "{input} already has a gen-kexec partition (partition {}); adapt the original image instead",
                    p.number
                );
            }
        }
    }
    Ok(())
}

/// The MBR slot or GPT entry the ESP goes in, checked before writing.
pub fn free_slot(table: &Table, input: &Utf8Path, end: u64) -> Result<usize> {
    match table {
        Table::Mbr(m) => {
            if end > mbr::max_sectors() {
                bail!(
                    "{input}: the new partition would end beyond what an MBR can address (2 TiB); convert the image to GPT"
                );
            }
            m.first_free_slot().with_context(|| no_free_slot(input, m))
        }
        Table::None => unreachable!("refused earlier"),
        Table::Gpt(_, g) => g.first_free_entry().with_context(|| {
            format!(
                "{input}: the GPT has no room for a new entry (all {} entries are used); free an entry, or \
                 enlarge the table where there is room before the first partition (`sgdisk --resize-table`)",
                g.entry_count
            )
        }),
    }
}

fn no_free_slot(input: &Utf8Path, m: &mbr::Mbr) -> String {
    let used: Vec<String> = m
        .used()
        .map(|(i, e)| {
            format!(
                "{}: type 0x{:02x} {}",
                i + 1,
                e.kind,
                mbr::type_name(e.kind)
            )
        })
        .collect();
    format!(
        "{input}: no free primary slot in the MBR for the ESP (all four are used: {}); free one, or convert the image to GPT",
        used.join(", ")
    )
}
