//! The gen-kexec FAT filesystem, made in-process with the `fatfs` crate on
//! a byte range of the output file. Volume id and every timestamp come from
//! SOURCE_DATE_EPOCH, so the same inputs give the same bytes.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use anyhow::{bail, Context, Result};
use camino::Utf8Path;
use fatfs::{
    Date, DateTime, FatType, FileSystem, FormatVolumeOptions, FsOptions, Time, TimeProvider,
};

pub use super::fatread::{read_file, read_file_max, summarize};
use crate::utc::Utc;

/// The label `/init` looks for (`findfs LABEL=gen-kexec`).
pub const LABEL: &str = "gen-kexec";

/// A window `[start, start + len)` of a file, seen as a whole device.
pub struct Slice<'a> {
    file: &'a File,
    start: u64,
    len: u64,
    pos: u64,
    /// Bytes still allowed to be read: fatfs follows whatever cluster
    /// chains the image has, so a loop in one must end somewhere.
    budget: u64,
    /// Set to where the next read starts when it holds `None`: how
    /// `summarize` learns where a directory's first cluster is.
    probe: Option<&'a Cell<Option<u64>>>,
}

impl<'a> Slice<'a> {
    pub fn new(file: &'a File, start: u64, len: u64) -> Self {
        Slice {
            file,
            start,
            len,
            pos: 0,
            budget: u64::MAX,
            probe: None,
        }
    }

    /// A slice for reading untrusted filesystems: at most
    /// `read_budget(len)` bytes are read through it.
    pub(super) fn untrusted(
        file: &'a File,
        start: u64,
        len: u64,
        probe: Option<&'a Cell<Option<u64>>>,
    ) -> Self {
        Slice {
            budget: read_budget(len),
            probe,
            ..Slice::new(file, start, len)
        }
    }
}

/// Every byte of a filesystem read a few times over, plus room for the
/// files `inspect` and `adapt-image` read back.
fn read_budget(len: u64) -> u64 {
    len.saturating_mul(4).clamp(8 << 20, 1 << 30)
}

impl Read for Slice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
        if n as u64 > self.budget {
            return Err(io::Error::other(
                "read more than its whole size several times over: a loop in its cluster chains?",
            ));
        }
        if let Some(p) = self.probe.filter(|p| p.get().is_none()) {
            p.set(Some(self.pos));
        }
        let n = self.file.read_at(&mut buf[..n], self.start + self.pos)?;
        self.budget -= n as u64;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for Slice<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pos + buf.len() as u64 > self.len {
            return Err(io::Error::other("write past the end of the partition"));
        }
        let n = self.file.write_at(buf, self.start + self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Slice<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.len as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };

        if pos < 0 || pos > self.len as i128 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek outside the partition",
            ));
        }
        self.pos = pos as u64;
        Ok(self.pos)
    }
}

/// A clock stopped at SOURCE_DATE_EPOCH (UTC), for fatfs.
#[derive(Debug)]
struct FixedClock(DateTime);

impl TimeProvider for FixedClock {
    fn get_current_date(&self) -> Date {
        self.0.date
    }
    fn get_current_date_time(&self) -> DateTime {
        self.0
    }
}

/// Civil date and time (UTC) of a Unix time, clamped to FAT's 1980..2107.
pub fn fat_time(epoch: u64) -> DateTime {
    let t = Utc::from_epoch(epoch);
    if t.year < 1980 {
        return DateTime {
            date: Date {
                year: 1980,
                month: 1,
                day: 1,
            },
            time: Time {
                hour: 0,
                min: 0,
                sec: 0,
                millis: 0,
            },
        };
    }
    DateTime {
        date: Date {
            year: t.year.min(2107) as u16,
            month: t.month as u16,
            day: t.day as u16,
        },
        time: Time {
            hour: t.hour as u16,
            min: t.minute as u16,
            sec: t.second as u16,
            millis: 0,
        },
    }
}

fn options(epoch: u64) -> FsOptions {
    let clock: &'static FixedClock = Box::leak(Box::new(FixedClock(fat_time(epoch))));
    FsOptions::new()
        .update_accessed_date(false)
        .time_provider(clock)
}

/// Format `[start, start + len)` of `file` as FAT labelled `gen-kexec`
/// and copy `files` (path, bytes) into it, creating directories.
pub fn make(
    file: &File,
    path: &Utf8Path,
    start: u64,
    len: u64,
    fat_type: Option<FatType>,
    epoch: u64,
    files: &[(String, Vec<u8>)],
) -> Result<()> {
    let mut label = [b' '; 11];
    label[..LABEL.len()].copy_from_slice(LABEL.as_bytes());
    let mut opts = FormatVolumeOptions::new()
        .volume_label(label)
        .volume_id(epoch as u32);
    if let Some(t) = fat_type {
        opts = opts.fat_type(t);
    }
    fatfs::format_volume(Slice::new(file, start, len), opts)
        .with_context(|| format!("{path}: cannot make a FAT filesystem at offset {start}"))?;
    // fatfs leaves "hidden sectors" at 0; mkfs.vfat sets it to the
    // partition's start, which some firmware and Windows rely on.
    let hidden = u32::try_from(start / super::SECTOR).unwrap_or(0);
    file.write_all_at(&hidden.to_le_bytes(), start + 0x1C)
        .with_context(|| format!("{path}: cannot write the FAT boot sector"))?;

    let fs = FileSystem::new(Slice::new(file, start, len), options(epoch))
        .with_context(|| format!("{path}: cannot open the new FAT filesystem"))?;
    let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    for (name, bytes) in files {
        let root = fs.root_dir();
        let mut dir = root.clone();
        let mut parts: Vec<&str> = name.split('/').collect();
        let leaf = parts.pop().unwrap_or_default();
        for p in parts {
            dir = match dir.open_dir(p) {
                Ok(d) => d,
                Err(_) => dir
                    .create_dir(p)
                    .with_context(|| format!("{path}: cannot create /{p} on the ESP"))?,
            };
        }
        let mut f = dir
            .create_file(leaf)
            .with_context(|| format!("{path}: cannot create /{name} on the ESP"))?;
        f.truncate().ok();
        f.write_all(bytes)
            .map_err(|e| no_room(e, path, len, total))
            .with_context(|| format!("{path}: cannot write /{name} on the ESP"))?;
    }
    fs.unmount()
        .with_context(|| format!("{path}: cannot finish the FAT filesystem"))?;
    super::fatfix::fix_dot_entries(file, path, start)
}

/// fatfs reports a full FAT as an error without an OS error code; a full
/// host filesystem (ENOSPC from the output file) must keep its code, so
/// `adapt` can say that the disk, not the ESP, is full.
fn no_room(e: io::Error, path: &Utf8Path, len: u64, total: u64) -> anyhow::Error {
    let fat_full = e.raw_os_error().is_none()
        && (e.kind() == io::ErrorKind::UnexpectedEof || e.to_string().contains("No space"));
    if fat_full {
        anyhow::anyhow!(
            "{path}: the files ({total} bytes) do not fit in the {} KiB ESP; choose a larger --esp-size",
            len / 1024
        )
    } else {
        anyhow::Error::new(e)
    }
}

/// Whether the bytes at `start` look like a FAT boot sector.
pub fn looks_like_fat(boot: &[u8]) -> bool {
    boot.len() >= 512
        && boot[510] == 0x55
        && boot[511] == 0xAA
        && (boot[0] == 0xEB || boot[0] == 0xE9)
        && (&boot[54..59] == b"FAT12" || &boot[54..59] == b"FAT16" || &boot[82..87] == b"FAT32")
}

/// Checked in `adapt`: the requested size is usable for `fat_type`.
pub fn check_size(len: u64, fat_type: Option<FatType>) -> Result<()> {
    let min = match fat_type {
        Some(FatType::Fat16) => 4 << 20,
        _ => 1 << 20,
    };
    if len < min {
        bail!(
            "an ESP of {} KiB is too small for FAT (at least {} KiB)",
            len / 1024,
            min / 1024
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_to_fat_time() {
        // 2024-01-02 03:04:05 UTC
        let t = fat_time(1_704_164_645);
        assert_eq!((t.date.year, t.date.month, t.date.day), (2024, 1, 2));
        assert_eq!((t.time.hour, t.time.min, t.time.sec), (3, 4, 5));
        assert_eq!(fat_time(0).date.year, 1980);
        let t = fat_time(951_782_400); // 2000-02-29
        assert_eq!((t.date.year, t.date.month, t.date.day), (2000, 2, 29));
    }
}
