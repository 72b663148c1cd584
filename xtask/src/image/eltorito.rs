//! The El Torito boot catalog: a validation entry, the initial/default
//! (BIOS) entry, then sections (header 0x90, or 0x91 for the last one)
//! with their entries. We add a final section for platform 0xEF (UEFI)
//! with one no-emulation entry pointing at the new ESP, the way modern
//! hybrid ISOs do, and leave every existing entry untouched.

use anyhow::{bail, Result};

use super::{le16, le32};

const ENTRY: usize = 32;
pub const PLATFORM_EFI: u8 = 0xEF;
/// Largest ESP an entry can describe: 65535 virtual 512-byte sectors.
pub const MAX_SECTORS: u64 = 0xFFFF;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEntry {
    /// 0 for the initial/default entry, else the section number (1-based).
    pub section: usize,
    pub platform: u8,
    pub bootable: bool,
    pub media: u8,
    pub load_segment: u16,
    pub sectors: u16,
    /// Load address in 2048-byte CD sectors.
    pub load_rba: u32,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub entries: Vec<BootEntry>,
    /// Offset (in the catalog sector) of the last section header, if any.
    last_header: Option<usize>,
    /// Offset of the first unused 32-byte slot.
    end: usize,
}

pub fn platform_name(p: u8) -> &'static str {
    match p {
        0x00 => "BIOS (x86)",
        0x01 => "PowerPC",
        0x02 => "Mac",
        0xEF => "UEFI",
        _ => "unknown",
    }
}

fn validation_checksum_ok(v: &[u8]) -> bool {
    (0..ENTRY / 2).fold(0u16, |sum, i| sum.wrapping_add(le16(v, 2 * i))) == 0
}

impl Catalog {
    /// Parse the first 2048 bytes of a boot catalog.
    pub fn parse(cat: &[u8]) -> Result<Catalog> {
        let v = &cat[..ENTRY];
        if v[0] != 1 || v[30] != 0x55 || v[31] != 0xAA {
            bail!(
                "damaged El Torito boot catalog: no validation entry (header 0x01 ... 0x55 0xAA)"
            );
        }
        if !validation_checksum_ok(v) {
            bail!("damaged El Torito boot catalog: the validation entry checksum does not match");
        }
        let mut entries = vec![parse_entry(&cat[ENTRY..2 * ENTRY], 0, v[1])?];
        let mut pos = 2 * ENTRY;
        let mut last_header = None;
        let mut section = 0;
        while pos + ENTRY <= cat.len() {
            let h = &cat[pos..pos + ENTRY];
            if h[0] != 0x90 && h[0] != 0x91 {
                break;
            }
            section += 1;
            last_header = Some(pos);
            let count = le16(h, 2) as usize;
            pos += ENTRY;
            let mut seen = 0;
            while seen < count {
                if pos + ENTRY > cat.len() {
                    bail!(
                        "damaged El Torito boot catalog: section {section} runs past the catalog"
                    );
                }
                if cat[pos] == 0x44 {
                    pos += ENTRY; // selection criteria extension
                    continue;
                }
                entries.push(parse_entry(&cat[pos..pos + ENTRY], section, h[1])?);
                seen += 1;
                pos += ENTRY;
            }
            while pos + ENTRY <= cat.len() && cat[pos] == 0x44 {
                pos += ENTRY;
            }
            if h[0] == 0x91 {
                break;
            }
        }
        Ok(Catalog {
            entries,
            last_header,
            end: pos,
        })
    }

    /// Append a final UEFI section with one no-emulation entry loading
    /// `sectors` 512-byte sectors from CD sector `load_rba`.
    pub fn add_efi_entry(&mut self, cat: &mut [u8], load_rba: u32, sectors: u16) -> Result<()> {
        if self.end + 2 * ENTRY > cat.len() {
            bail!("the El Torito boot catalog is full: no room for a UEFI entry");
        }
        if cat[self.end..self.end + 2 * ENTRY].iter().any(|&b| b != 0) {
            bail!(
                "unknown El Torito boot catalog layout: bytes after the last entry (offset {}) are not zero",
                self.end
            );
        }
        if let Some(h) = self.last_header {
            cat[h] = 0x90; // no longer the final section
        }
        let header = &mut cat[self.end..self.end + ENTRY];
        header[0] = 0x91;
        header[1] = PLATFORM_EFI;
        header[2..4].copy_from_slice(&1u16.to_le_bytes());
        let entry = &mut cat[self.end + ENTRY..self.end + 2 * ENTRY];
        entry[0] = 0x88; // bootable
        entry[1] = 0; // no emulation
        entry[6..8].copy_from_slice(&sectors.to_le_bytes());
        entry[8..12].copy_from_slice(&load_rba.to_le_bytes());
        fix_validation_checksum(cat);
        *self = Catalog::parse(cat)?;
        Ok(())
    }
}

fn parse_entry(e: &[u8], section: usize, platform: u8) -> Result<BootEntry> {
    if e[0] != 0x88 && e[0] != 0x00 {
        bail!(
            "damaged El Torito boot catalog: entry with boot indicator 0x{:02x} (expected 0x88 or 0x00)",
            e[0]
        );
    }
    Ok(BootEntry {
        section,
        platform,
        bootable: e[0] == 0x88,
        media: e[1] & 0x0F,
        load_segment: le16(e, 2),
        sectors: le16(e, 6),
        load_rba: le32(e, 8),
    })
}

/// Make the 16-bit words of the validation entry sum to zero.
fn fix_validation_checksum(cat: &mut [u8]) {
    cat[28..30].fill(0);
    let sum = (0..ENTRY / 2).fold(0u16, |s, i| s.wrapping_add(le16(cat, 2 * i)));
    cat[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog as `xorriso -b isolinux/isolinux.bin -no-emul-boot` makes it.
    fn bios_catalog() -> Vec<u8> {
        let mut cat = vec![0u8; 2048];
        cat[0] = 1;
        cat[30] = 0x55;
        cat[31] = 0xAA;
        fix_validation_checksum(&mut cat);
        cat[32] = 0x88;
        cat[32 + 6] = 4;
        cat[32 + 8] = 35;
        cat
    }

    #[test]
    fn adds_a_final_uefi_section_and_keeps_the_bios_entry() {
        let mut cat = bios_catalog();
        let mut c = Catalog::parse(&cat).unwrap();
        let bios = c.entries[0].clone();
        c.add_efi_entry(&mut cat, 1000, 32768).unwrap();
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.entries[0], bios);
        assert_eq!(
            (
                c.entries[1].platform,
                c.entries[1].load_rba,
                c.entries[1].sectors
            ),
            (0xEF, 1000, 32768)
        );
        assert_eq!(cat[64], 0x91);
        // A second section turns the first final header into 0x90.
        c.add_efi_entry(&mut cat, 2000, 8).unwrap();
        assert_eq!((cat[64], cat[128]), (0x90, 0x91));
        assert_eq!(c.entries.len(), 3);
    }

    #[test]
    fn rejects_a_bad_checksum() {
        let mut cat = bios_catalog();
        cat[4] ^= 1;
        assert!(Catalog::parse(&cat)
            .unwrap_err()
            .to_string()
            .contains("checksum"));
    }
}
