//! Recognise an image: its partition table (MBR, GPT, or hybrid), an ISO
//! 9660 filesystem and El Torito catalog if it has them. Shared by
//! `adapt-image` (to decide what to change) and `inspect` (to print it).

use std::fs::File;

use anyhow::{bail, Result};
use camino::Utf8Path;

use super::eltorito::Catalog;
use super::gpt::{self, Gpt};
use super::iso9660::{self, Volume, CD_SECTOR};
use super::mbr::{self, Mbr};
use super::{read_at, SECTOR};

pub enum Table {
    /// An ISO 9660 image without a partition table (not isohybrid).
    None,
    Mbr(Mbr),
    /// GPT with its protective MBR (a hybrid MBR if that has other entries).
    Gpt(Mbr, Gpt),
}

pub struct ElTorito {
    /// Byte offset of the catalog sector.
    pub offset: u64,
    pub bytes: Vec<u8>,
    pub catalog: Catalog,
}

pub struct Image {
    pub len: u64,
    pub sector0: Vec<u8>,
    pub table: Table,
    pub iso: Option<Volume>,
    pub el_torito: Option<ElTorito>,
}

/// One partition, whatever the table: number (1-based), first sector,
/// sector count and a description of its type.
#[derive(Debug, Clone)]
pub struct Part {
    pub number: usize,
    pub start: u64,
    pub sectors: u64,
    pub kind: String,
}

impl Table {
    /// MBR partitions (1-based) next to a GPT's protective entry.
    pub fn hybrid_mbr_entries(&self) -> Vec<usize> {
        match self {
            Table::Gpt(m, _) => m
                .used()
                .filter(|(_, e)| e.kind != mbr::TYPE_GPT)
                .map(|(i, _)| i + 1)
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl Image {
    pub fn sectors(&self) -> u64 {
        self.len / SECTOR
    }

    pub fn partitions(&self) -> Vec<Part> {
        match &self.table {
            Table::None => Vec::new(),
            Table::Mbr(m) => m
                .used()
                .map(|(i, e)| Part {
                    number: i + 1,
                    start: e.start.into(),
                    sectors: e.sectors.into(),
                    kind: format!("0x{:02x} {}", e.kind, mbr::type_name(e.kind)),
                })
                .collect(),
            Table::Gpt(_, g) => g
                .partitions()
                .into_iter()
                .map(|p| Part {
                    number: p.index + 1,
                    start: p.first,
                    sectors: p.last + 1 - p.first,
                    kind: format!(
                        "{} ({}), name {:?}, GUID {}",
                        gpt::type_name(&p.type_guid),
                        gpt::guid_string(&p.type_guid),
                        p.name,
                        gpt::guid_string(&p.unique_guid)
                    ),
                })
                .collect(),
        }
    }

    /// First sector after every partition and after the image data.
    pub fn end_sector(&self) -> u64 {
        let parts = self
            .partitions()
            .iter()
            .map(|p| p.start + p.sectors)
            .max()
            .unwrap_or(0);
        parts.max(self.sectors())
    }
}

/// What `adapt-image` and `inspect` take, for "not a disk image" errors.
/// What to do with a damaged image.
const DAMAGED: &str = "the image is damaged or truncated: download or copy it again";

const EXPECTED: &str = "expected an isohybrid ISO or a whole-disk image with an MBR or GPT \
     partition table (e.g. a copy of a USB stick made with dd), not a single partition or an archive";

/// Read the tables of `path`. Errors say what is wrong with the image.
pub fn probe(file: &File, path: &Utf8Path) -> Result<Image> {
    let len = file.metadata()?.len();
    if len < 4 * SECTOR || len % SECTOR != 0 {
        bail!("{path} is not a disk image: its size ({len} bytes) is not a whole number of 512-byte sectors; {EXPECTED}");
    }
    let sector0 = read_at(file, path, 0, SECTOR as usize)?;
    let iso = iso9660::read_volume(file, path, len)?;
    let sectors = len / SECTOR;
    let table = if !mbr::has_signature(&sector0) {
        if iso.is_none() {
            bail!("{path} is not a disk image: no partition table (no MBR boot signature 0x55 0xAA in sector 0); {EXPECTED}");
        }
        Table::None
    } else {
        mbr_or_gpt(file, path, &sector0, sectors)?
    };
    let el_torito = match iso.as_ref().and_then(|v| v.catalog_lba) {
        Some(lba) => {
            let offset = lba * CD_SECTOR;
            if offset + CD_SECTOR > len {
                bail!("{path}: damaged El Torito boot record: its catalog (CD sector {lba}) is beyond the end; {DAMAGED}");
            }
            let bytes = read_at(file, path, offset, CD_SECTOR as usize)?;
            let catalog =
                Catalog::parse(&bytes).map_err(|e| anyhow::anyhow!("{path}: {e}; {DAMAGED}"))?;
            Some(ElTorito {
                offset,
                bytes,
                catalog,
            })
        }
        None => None,
    };
    Ok(Image {
        len,
        sector0,
        table,
        iso,
        el_torito,
    })
}

fn mbr_or_gpt(file: &File, path: &Utf8Path, sector0: &[u8], sectors: u64) -> Result<Table> {
    let damaged = |e: anyhow::Error| {
        anyhow::anyhow!("{path}: {e}; {DAMAGED} (`sfdisk --verify {path}` shows details)")
    };
    let m = Mbr::parse(sector0, sectors).map_err(damaged)?;
    if m.used().next().is_none() {
        bail!(
            "{path}: unknown partition table: sector 0 has a boot signature but no MBR partition \
             and no GPT; {EXPECTED}"
        );
    }
    Ok(if m.is_gpt_protective() {
        let g = Gpt::read(file, path, sectors).map_err(damaged)?;
        Table::Gpt(m, g)
    } else {
        Table::Mbr(m)
    })
}
