//! The MBR (DOS) partition table: boot code, disk signature and four primary
//! entries in sector 0. Only the entry being added is ever written; the boot
//! code, the disk signature and the other entries stay byte for byte.

use anyhow::{bail, Result};

use super::le32;

const TABLE: usize = 446;
const ENTRY: usize = 16;
/// Partition type of an EFI System Partition in an MBR.
pub const TYPE_ESP: u8 = 0xEF;
/// Partition type of a GPT protective entry.
pub const TYPE_GPT: u8 = 0xEE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub status: u8,
    pub kind: u8,
    pub start: u32,
    pub sectors: u32,
}

impl Entry {
    /// A slot is free when all of it is zero: isohybrid and Debian ISOs use
    /// type 0x00 with a real start and size for the ISO partition.
    pub fn is_free(&self) -> bool {
        self.status == 0 && self.kind == 0 && self.start == 0 && self.sectors == 0
    }

    pub fn end(&self) -> u64 {
        u64::from(self.start) + u64::from(self.sectors)
    }
}

#[derive(Debug, Clone)]
pub struct Mbr {
    pub entries: [Entry; 4],
    pub disk_signature: u32,
}

/// Whether sector 0 ends with the 0x55 0xAA boot signature.
pub fn has_signature(sector0: &[u8]) -> bool {
    sector0.len() >= 512 && sector0[510] == 0x55 && sector0[511] == 0xAA
}

impl Mbr {
    /// Parse sector 0; `disk_sectors` is the image size, used to reject
    /// entries that point outside it.
    pub fn parse(sector0: &[u8], disk_sectors: u64) -> Result<Mbr> {
        if !has_signature(sector0) {
            bail!("no MBR boot signature (0x55 0xAA) in sector 0");
        }
        let mut entries = [Entry {
            status: 0,
            kind: 0,
            start: 0,
            sectors: 0,
        }; 4];
        for (i, e) in entries.iter_mut().enumerate() {
            let b = &sector0[TABLE + i * ENTRY..TABLE + (i + 1) * ENTRY];
            *e = Entry {
                status: b[0],
                kind: b[4],
                start: le32(b, 8),
                sectors: le32(b, 12),
            };
            if e.is_free() {
                continue;
            }
            if e.status != 0 && e.status != 0x80 {
                bail!(
                    "damaged MBR: entry {} has boot flag 0x{:02x} (expected 0x00 or 0x80)",
                    i + 1,
                    e.status
                );
            }
            // A protective 0xEE entry may say "the whole disk" as 0xFFFFFFFF.
            if e.kind != TYPE_GPT && e.end() > disk_sectors {
                bail!(
                    "damaged MBR: partition {} (sectors {}..{}) ends beyond the end of the image ({} sectors)",
                    i + 1,
                    e.start,
                    e.end(),
                    disk_sectors
                );
            }
        }
        Ok(Mbr {
            entries,
            disk_signature: le32(sector0, 440),
        })
    }

    pub fn first_free_slot(&self) -> Option<usize> {
        self.entries.iter().position(Entry::is_free)
    }

    pub fn used(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.is_free())
    }

    pub fn is_gpt_protective(&self) -> bool {
        self.entries.iter().any(|e| e.kind == TYPE_GPT)
    }
}

/// Write `entry` into slot `slot` of `sector0` (with CHS fields computed
/// for the usual 255 heads x 63 sectors geometry, or the "beyond CHS"
/// marker when the address does not fit).
pub fn write_entry(sector0: &mut [u8], slot: usize, entry: &Entry) {
    let b = &mut sector0[TABLE + slot * ENTRY..TABLE + (slot + 1) * ENTRY];
    b[0] = entry.status;
    b[1..4].copy_from_slice(&chs(u64::from(entry.start)));
    b[4] = entry.kind;
    b[5..8].copy_from_slice(&chs(entry.end().saturating_sub(1)));
    b[8..12].copy_from_slice(&entry.start.to_le_bytes());
    b[12..16].copy_from_slice(&entry.sectors.to_le_bytes());
}

fn chs(lba: u64) -> [u8; 3] {
    const HEADS: u64 = 255;
    const SPT: u64 = 63;
    let cyl = lba / (HEADS * SPT);
    if cyl > 1023 {
        return [0xFE, 0xFF, 0xFF];
    }
    let head = (lba / SPT) % HEADS;
    let sect = lba % SPT + 1;
    [
        head as u8,
        (sect as u8) | (((cyl >> 8) as u8) << 6),
        cyl as u8,
    ]
}

/// The largest sector count an MBR entry can describe.
pub fn max_sectors() -> u64 {
    u64::from(u32::MAX)
}

pub fn type_name(kind: u8) -> &'static str {
    match kind {
        0x00 => "empty type (used by isohybrid ISOs)",
        0x01 | 0x04 | 0x06 | 0x0B | 0x0C | 0x0E => "FAT",
        0x05 | 0x0F | 0x85 => "extended",
        0x07 => "NTFS/exFAT/HPFS",
        0x17 => "hidden NTFS/HPFS (used by isohybrid ISOs)",
        0x82 => "Linux swap",
        0x83 => "Linux",
        0x8E => "Linux LVM",
        0xEE => "GPT protective",
        0xEF => "EFI System",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sector_with(entries: &[(usize, Entry)]) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[510] = 0x55;
        s[511] = 0xAA;
        for (slot, e) in entries {
            write_entry(&mut s, *slot, e);
        }
        s
    }

    #[test]
    fn isohybrid_entry_at_zero_is_used_and_kept() {
        let iso = Entry {
            status: 0x80,
            kind: 0x00,
            start: 0,
            sectors: 4096,
        };
        let s = sector_with(&[(0, iso)]);
        let mbr = Mbr::parse(&s, 4096).unwrap();
        assert_eq!(mbr.entries[0], iso);
        assert_eq!(mbr.first_free_slot(), Some(1));
    }

    #[test]
    fn rejects_entries_beyond_the_image_and_bad_flags() {
        let e = Entry {
            status: 0,
            kind: 0x83,
            start: 2048,
            sectors: 8192,
        };
        let s = sector_with(&[(0, e)]);
        assert!(Mbr::parse(&s, 4096)
            .unwrap_err()
            .to_string()
            .contains("beyond the end"));
        let mut s = sector_with(&[(0, Entry { sectors: 100, ..e })]);
        s[TABLE] = 0x12;
        assert!(Mbr::parse(&s, 4096)
            .unwrap_err()
            .to_string()
            .contains("boot flag"));
        assert!(Mbr::parse(&[0u8; 512], 1).is_err());
    }

    #[test]
    fn chs_fields() {
        assert_eq!(chs(0), [0, 1, 0]);
        assert_eq!(chs(2048), [32, 33, 0]);
        assert_eq!(chs(1 << 30), [0xFE, 0xFF, 0xFF]);
    }
}
