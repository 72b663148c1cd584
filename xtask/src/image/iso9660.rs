//! Just enough ISO 9660 to find the El Torito boot record and, for
//! `inspect`, the volume name and the syslinux/isolinux config files.

use std::fs::File;

use anyhow::{bail, Result};
use camino::Utf8Path;

use super::{le32, read_at};

pub const CD_SECTOR: u64 = 2048;
pub const EL_TORITO_ID: &[u8] = b"EL TORITO SPECIFICATION";
/// What `--disable-el-torito` writes over the boot system identifier.
pub const DISABLED_ID: &[u8] = b"GEN-KEXEC: EL TORITO DISABLED";

#[derive(Debug, Clone, Default)]
pub struct Volume {
    pub volume_id: String,
    pub volume_sectors: u64,
    pub root_extent: u64,
    pub root_size: u64,
    /// Byte offset of the El Torito boot record descriptor, if any.
    pub boot_record: Option<u64>,
    pub boot_system_id: String,
    pub catalog_lba: Option<u64>,
}

/// Read the volume descriptor set starting at CD sector 16. `None` when
/// the image holds no ISO 9660 filesystem.
pub fn read_volume(file: &File, path: &Utf8Path, file_len: u64) -> Result<Option<Volume>> {
    let mut vol = Volume::default();
    let mut found_pvd = false;
    for lba in 16..80u64 {
        if (lba + 1) * CD_SECTOR > file_len {
            break;
        }
        let d = read_at(file, path, lba * CD_SECTOR, CD_SECTOR as usize)?;
        if &d[1..6] != b"CD001" {
            break;
        }
        match d[0] {
            0 => {
                let id = &d[7..39];
                vol.boot_system_id = String::from_utf8_lossy(id)
                    .trim_end_matches(['\0', ' '])
                    .to_owned();
                vol.boot_record = Some(lba * CD_SECTOR);
                if id.starts_with(EL_TORITO_ID) {
                    vol.catalog_lba = Some(u64::from(le32(&d, 0x47)));
                }
            }
            1 => {
                found_pvd = true;
                vol.volume_id = String::from_utf8_lossy(&d[40..72]).trim_end().to_owned();
                vol.volume_sectors = u64::from(le32(&d, 80));
                vol.root_extent = u64::from(le32(&d, 156 + 2));
                vol.root_size = u64::from(le32(&d, 156 + 10));
            }
            255 => break,
            _ => {}
        }
    }
    Ok(found_pvd.then_some(vol))
}

#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: String,
    pub extent: u64,
    pub size: u64,
    pub is_dir: bool,
}

/// The entries of the directory at `extent` (CD sectors), names without
/// the `;1` version and in lower case (plain ISO 9660 names are upper case;
/// Rock Ridge and Joliet names are not read).
pub fn read_dir(file: &File, path: &Utf8Path, extent: u64, size: u64) -> Result<Vec<DirEntry>> {
    let data = read_extent(file, path, "directory", extent, size.min(1 << 20))?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let len = data[pos] as usize;
        if len == 0 {
            // Records do not cross sector boundaries: skip to the next one.
            pos = (pos / CD_SECTOR as usize + 1) * CD_SECTOR as usize;
            continue;
        }
        if pos + len > data.len() || len < 34 {
            break;
        }
        let r = &data[pos..pos + len];
        let name_len = r[32] as usize;
        let raw = &r[33..33 + name_len.min(len - 33)];
        if raw != [0] && raw != [1] {
            let name = String::from_utf8_lossy(raw);
            let name = name
                .split(';')
                .next()
                .unwrap_or("")
                .trim_end_matches('.')
                .to_ascii_lowercase();
            out.push(DirEntry {
                name,
                extent: u64::from(le32(r, 2)),
                size: u64::from(le32(r, 10)),
                is_dir: r[25] & 2 != 0,
            });
        }
        pos += len;
    }
    Ok(out)
}

/// `len` bytes of the extent at CD sector `extent`, checked against the
/// file's size first; `what` names the structure for the error.
pub fn read_extent(
    file: &File,
    path: &Utf8Path,
    what: &str,
    extent: u64,
    len: u64,
) -> Result<Vec<u8>> {
    let file_len = file.metadata()?.len();
    let offset = extent.saturating_mul(CD_SECTOR);
    if offset.saturating_add(len) > file_len {
        bail!(
            "{path}: damaged ISO 9660 directory record: a {what} at CD sector {extent} \
             (field extent location) of {len} bytes ends beyond the end of the image ({file_len} bytes)"
        );
    }
    read_at(file, path, offset, len as usize)
}

/// Find a file by its `/`-separated path (case-insensitive).
pub fn find(file: &File, path: &Utf8Path, vol: &Volume, wanted: &str) -> Result<Option<DirEntry>> {
    let (mut extent, mut size) = (vol.root_extent, vol.root_size);
    let parts: Vec<&str> = wanted.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let entries = read_dir(file, path, extent, size)?;
        let Some(e) = entries
            .into_iter()
            .find(|e| e.name.eq_ignore_ascii_case(part))
        else {
            return Ok(None);
        };
        if i + 1 == parts.len() {
            return Ok(Some(e));
        }
        if !e.is_dir {
            return Ok(None);
        }
        (extent, size) = (e.extent, e.size);
    }
    Ok(None)
}
