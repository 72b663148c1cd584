//! The GUID partition table: primary header at LBA 1, its entry array, and
//! the backup copy at the end of the disk. Adding a partition means filling
//! a free entry, moving the backup to the new end and fixing both CRC32s.

use std::fs::File;

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

use super::{le32, le64, read_at, write_at, SECTOR};

/// EFI System Partition type C12A7328-F81F-11D2-BA4B-00A0C93EC93B, as stored
/// (the first three fields little-endian).
pub const TYPE_ESP: [u8; 16] = guid_bytes(
    0xC12A7328,
    0xF81F,
    0x11D2,
    [0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B],
);

const SIGNATURE: &[u8; 8] = b"EFI PART";
/// The largest partition entry array read (128 entries of 128 bytes is usual).
const MAX_ARRAY: u64 = 1 << 20;

const fn guid_bytes(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

/// Text form of a GUID stored in GPT byte order.
pub fn guid_string(g: &[u8]) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{}-{}",
        le32(g, 0),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        hex::encode_upper(&g[8..10]),
        hex::encode_upper(&g[10..16])
    )
}

#[derive(Debug, Clone)]
pub struct Gpt {
    /// The primary header sector as read (header_size bytes are meaningful).
    pub header: Vec<u8>,
    pub entries: Vec<u8>,
    pub header_size: usize,
    pub alternate_lba: u64,
    pub first_usable: u64,
    pub last_usable: u64,
    pub disk_guid: [u8; 16],
    pub entries_lba: u64,
    pub entry_count: usize,
    pub entry_size: usize,
}

#[derive(Debug, Clone)]
pub struct Partition {
    pub index: usize,
    pub type_guid: [u8; 16],
    pub unique_guid: [u8; 16],
    pub first: u64,
    pub last: u64,
    pub name: String,
}

impl Gpt {
    /// Read and check the primary header and its entry array.
    pub fn read(file: &File, path: &Utf8Path, disk_sectors: u64) -> Result<Gpt> {
        let header = read_at(file, path, SECTOR, SECTOR as usize)?;
        if &header[0..8] != SIGNATURE {
            bail!("damaged GPT: the protective MBR says GPT but LBA 1 has no \"EFI PART\" header");
        }
        let header_size = le32(&header, 12) as usize;
        if !(92..=SECTOR as usize).contains(&header_size) {
            bail!("damaged GPT: header field HeaderSize (offset 12 of LBA 1) is {header_size}, expected 92..512");
        }
        let stored = le32(&header, 16);
        if header_crc(&header[..header_size]) != stored {
            bail!("damaged GPT: the primary header CRC32 does not match");
        }
        let my_lba = le64(&header, 24);
        let entry_count = le32(&header, 80);
        let entry_size = le32(&header, 84);
        if my_lba != 1 {
            bail!("damaged GPT: header field MyLBA (offset 24 of LBA 1) is {my_lba}, expected 1");
        }
        if entry_size < 128 || !entry_size.is_multiple_of(128) {
            bail!(
                "damaged GPT: header field SizeOfPartitionEntry (offset 84 of LBA 1) is \
                 {entry_size}, expected a multiple of 128"
            );
        }
        // At most 1 MiB of entries, and never more than the file holds.
        let array_bytes = u64::from(entry_count) * u64::from(entry_size);
        let entries_lba = le64(&header, 72);
        let array_end = entries_lba
            .checked_mul(SECTOR)
            .and_then(|start| start.checked_add(array_bytes));
        if array_bytes > MAX_ARRAY {
            bail!(
                "damaged GPT: header fields NumberOfPartitionEntries and SizeOfPartitionEntry \
                 (offsets 80 and 84 of LBA 1) say {entry_count} entries of {entry_size} bytes: \
                 more than {MAX_ARRAY} bytes"
            );
        }
        if entries_lba < 2 || array_end.is_none_or(|end| end > disk_sectors * SECTOR) {
            bail!(
                "damaged GPT: header field PartitionEntryLBA (offset 72 of LBA 1) is \
                 {entries_lba}: its {array_bytes}-byte entry array does not fit in sectors \
                 2..{disk_sectors} of the image"
            );
        }
        let gpt = Gpt {
            alternate_lba: le64(&header, 32),
            first_usable: le64(&header, 40),
            last_usable: le64(&header, 48),
            disk_guid: header[56..72].try_into().unwrap(),
            entries_lba,
            entry_count: entry_count as usize,
            entry_size: entry_size as usize,
            entries: read_at(file, path, entries_lba * SECTOR, array_bytes as usize)?,
            header,
            header_size,
        };
        if crc32fast::hash(&gpt.entries) != le32(&gpt.header, 88) {
            bail!("damaged GPT: the partition entry array CRC32 does not match");
        }
        if gpt.last_usable >= disk_sectors || gpt.first_usable > gpt.last_usable {
            bail!(
                "damaged GPT: usable sectors {}..{} (header fields FirstUsableLBA and \
                 LastUsableLBA, offsets 40 and 48 of LBA 1) do not fit in the image \
                 ({disk_sectors} sectors)",
                gpt.first_usable,
                gpt.last_usable
            );
        }
        for p in gpt.partitions() {
            let at = entries_lba * SECTOR + (p.index * gpt.entry_size) as u64;
            if p.first > p.last || p.last >= disk_sectors {
                bail!(
                    "damaged GPT: partition entry {} (byte offset {at}): sectors {}..={} \
                     (fields StartingLBA and EndingLBA, offsets 32 and 40) {}",
                    p.index + 1,
                    p.first,
                    p.last,
                    if p.first > p.last {
                        "end before they start".to_owned()
                    } else {
                        format!("end beyond the end of the image ({disk_sectors} sectors)")
                    }
                );
            }
        }
        Ok(gpt)
    }

    pub fn entry_sectors(&self) -> u64 {
        ((self.entry_count * self.entry_size) as u64).div_ceil(SECTOR)
    }

    pub fn partitions(&self) -> Vec<Partition> {
        (0..self.entry_count)
            .filter_map(|i| {
                let e = &self.entries[i * self.entry_size..(i + 1) * self.entry_size];
                if e[0..16].iter().all(|&b| b == 0) {
                    return None;
                }
                let name: Vec<u16> = e[56..128]
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .take_while(|&c| c != 0)
                    .collect();
                Some(Partition {
                    index: i,
                    type_guid: e[0..16].try_into().unwrap(),
                    unique_guid: e[16..32].try_into().unwrap(),
                    first: le64(e, 32),
                    last: le64(e, 40),
                    name: String::from_utf16_lossy(&name),
                })
            })
            .collect()
    }

    pub fn first_free_entry(&self) -> Option<usize> {
        (0..self.entry_count).find(|i| {
            self.entries[i * self.entry_size..i * self.entry_size + 16]
                .iter()
                .all(|&b| b == 0)
        })
    }

    /// Fill entry `index` with an ESP at sectors `first..=last`.
    pub fn set_esp(&mut self, index: usize, unique: [u8; 16], first: u64, last: u64, name: &str) {
        let e = &mut self.entries[index * self.entry_size..(index + 1) * self.entry_size];
        e.fill(0);
        e[0..16].copy_from_slice(&TYPE_ESP);
        e[16..32].copy_from_slice(&unique);
        e[32..40].copy_from_slice(&first.to_le_bytes());
        e[40..48].copy_from_slice(&last.to_le_bytes());
        for (i, c) in name.encode_utf16().take(36).enumerate() {
            e[56 + 2 * i..58 + 2 * i].copy_from_slice(&c.to_le_bytes());
        }
    }

    /// Write the primary and backup headers and arrays for a disk of
    /// `disk_sectors`, and blank the old backup header if it moved.
    pub fn write(&self, file: &File, path: &Utf8Path, disk_sectors: u64) -> Result<()> {
        let last = disk_sectors - 1;
        let backup_entries = last - self.entry_sectors();
        let last_usable = backup_entries - 1;
        let entries_crc = crc32fast::hash(&self.entries);
        let primary = self.header_for(1, last, self.entries_lba, last_usable, entries_crc);
        let backup = self.header_for(last, 1, backup_entries, last_usable, entries_crc);
        write_at(file, path, self.entries_lba * SECTOR, &self.entries)?;
        write_at(file, path, SECTOR, &primary)?;
        write_at(file, path, backup_entries * SECTOR, &self.entries)?;
        write_at(file, path, last * SECTOR, &backup)?;
        if self.alternate_lba != last && self.alternate_lba < disk_sectors && self.alternate_lba > 1
        {
            // A stale backup header in the middle of the disk could be
            // mistaken for the real one by recovery tools.
            write_at(
                file,
                path,
                self.alternate_lba * SECTOR,
                &[0u8; SECTOR as usize],
            )
            .context("cannot blank the old backup GPT header")?;
        }
        Ok(())
    }

    fn header_for(
        &self,
        my: u64,
        alternate: u64,
        entries_lba: u64,
        last_usable: u64,
        crc: u32,
    ) -> Vec<u8> {
        let mut h = self.header.clone();
        h[24..32].copy_from_slice(&my.to_le_bytes());
        h[32..40].copy_from_slice(&alternate.to_le_bytes());
        h[48..56].copy_from_slice(&last_usable.to_le_bytes());
        h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
        h[88..92].copy_from_slice(&crc.to_le_bytes());
        let crc = header_crc(&h[..self.header_size]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    }
}

/// CRC32 of a header with its own CRC field taken as zero.
fn header_crc(header: &[u8]) -> u32 {
    let mut h = header.to_vec();
    h[16..20].fill(0);
    crc32fast::hash(&h)
}

pub fn type_name(guid: &[u8; 16]) -> &'static str {
    match guid_string(guid).as_str() {
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" => "EFI System",
        "21686148-6449-6E6F-744E-656564454649" => "BIOS boot",
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4" => "Linux filesystem",
        "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F" => "Linux swap",
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" => "Microsoft basic data",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esp_type_guid_text() {
        assert_eq!(
            guid_string(&TYPE_ESP),
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
        );
        assert_eq!(type_name(&TYPE_ESP), "EFI System");
    }

    #[test]
    fn header_crc_ignores_its_own_field() {
        let mut h = vec![7u8; 92];
        let a = header_crc(&h);
        h[16..20].copy_from_slice(&a.to_le_bytes());
        assert_eq!(header_crc(&h), a);
    }
}
