//! Reading FAT filesystems from images (untrusted): list every file
//! (`inspect`, adapt-image's "already adapted?" check, the read-back of a
//! written ESP) and read one, through fatfs on a budgeted `fat::Slice`.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;

use anyhow::{bail, Context, Result};
use fatfs::{FatType, FileSystem, FsOptions};

use super::fat::Slice;

/// What a FAT filesystem holds, as read back by fatfs.
#[derive(Debug)]
pub struct Summary {
    pub fat_type: FatType,
    pub label: String,
    pub root_label: Option<String>,
    pub volume_id: u32,
    pub files: Vec<(String, u64)>,
}

/// Directory walks stop here: no real ESP or boot partition comes close.
const MAX_DEPTH: usize = 32;
const MAX_ENTRIES: usize = 100_000;
/// `read_file` reads at most this much (boot configs, the bootloader).
pub const MAX_READ: u64 = 256 << 20;

/// Mount the FAT filesystem at `[start, start + len)` read-only-ish (no
/// writes are made) and list every file with its size. The walk keeps the
/// directories it listed (by the offset of their first cluster), so a
/// directory entry pointing back at an ancestor is an error, and so are
/// more than `MAX_DEPTH` levels or `MAX_ENTRIES` entries.
pub fn summarize(file: &File, start: u64, len: u64) -> Result<Summary> {
    guarded(start, || walk(file, start, len))
}

/// fatfs 0.3 (the latest release) computes with cluster numbers read from
/// the disk unchecked (`cluster - 2` in `sector_from_cluster`, ...): with
/// overflow checks that panics, without them it reads elsewhere (and the
/// `Slice` refuses what is outside the partition). A panic there is a
/// damaged filesystem: say so, quietly.
fn guarded<T>(start: u64, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        bail!("FAT filesystem at byte {start}: damaged: a cluster number out of range ({what})")
    })
}

fn walk(file: &File, start: u64, len: u64) -> Result<Summary> {
    let probe = Cell::new(None);
    let fs = FileSystem::new(
        Slice::untrusted(file, start, len, Some(&probe)),
        FsOptions::new().update_accessed_date(false),
    )
    .with_context(|| format!("FAT filesystem at byte {start}: cannot read its boot sector"))?;
    let mut files = Vec::new();
    let mut visited = BTreeSet::new();
    let mut entries = 0usize;
    let mut stack = vec![(String::new(), 0usize, fs.root_dir())];
    while let Some((prefix, depth, dir)) = stack.pop() {
        let at =
            |what: &str| format!("FAT filesystem at byte {start}: directory /{prefix}: {what}");
        if depth > MAX_DEPTH {
            bail!(
                "{}",
                at(&format!(
                    "nested deeper than {MAX_DEPTH} levels: a directory loop?"
                ))
            );
        }
        probe.set(None);
        let mut iter = dir.iter().peekable();
        let first = iter.peek().map(|e| e.as_ref().map_err(|e| e.to_string()));
        if let Some(Err(e)) = first {
            bail!("{}", at(&format!("cannot read it: {e}")));
        }
        if let Some(offset) = probe.get() {
            if !visited.insert(offset) {
                bail!(
                    "{}",
                    at(&format!(
                        "its entry points back at a directory already listed (cluster data at \
                         byte {offset} of the filesystem): a directory loop"
                    ))
                );
            }
        }
        for e in iter {
            let e = e.with_context(|| at("cannot read an entry"))?;
            entries += 1;
            if entries > MAX_ENTRIES {
                bail!(
                    "{}",
                    at(&format!("more than {MAX_ENTRIES} entries in all: a loop?"))
                );
            }
            let name = e.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let full = format!("{prefix}{name}");
            if e.is_dir() {
                stack.push((format!("{full}/"), depth + 1, e.to_dir()));
            } else {
                files.push((full, e.len()));
            }
        }
    }
    files.sort();
    Ok(Summary {
        fat_type: fs.fat_type(),
        label: fs.volume_label(),
        root_label: fs.read_volume_label_from_root_dir()?,
        volume_id: fs.volume_id(),
        files,
    })
}

/// Read one file (path relative to the root) from a FAT filesystem, at
/// most `MAX_READ` bytes of it.
pub fn read_file(file: &File, start: u64, len: u64, name: &str) -> Result<Vec<u8>> {
    read_file_max(file, start, len, name, MAX_READ)
}

pub fn read_file_max(file: &File, start: u64, len: u64, name: &str, limit: u64) -> Result<Vec<u8>> {
    guarded(start, || read_limited(file, start, len, name, limit))
}

fn read_limited(file: &File, start: u64, len: u64, name: &str, limit: u64) -> Result<Vec<u8>> {
    let fs = FileSystem::new(
        Slice::untrusted(file, start, len, None),
        FsOptions::new().update_accessed_date(false),
    )?;
    let f = fs.root_dir().open_file(name)?;
    let mut out = Vec::new();
    f.take(limit).read_to_end(&mut out)?;
    Ok(out)
}
