//! Work around a fatfs 0.3 bug: `create_dir` writes long-file-name entries
//! in front of the "." and ".." entries of every new directory, so "." is
//! not in slot 0 and `fsck.vfat` (and strict firmware) reject the
//! directory. After formatting we walk the directories and drop those
//! stray LFN entries, shifting the rest down. Directories are small here
//! (a handful of files), so only each directory's first cluster is
//! walked; that is checked, not assumed.

use std::fs::File;

use anyhow::{ensure, Context, Result};
use camino::Utf8Path;

use super::{le16, le32, read_at, write_at};

const ATTR_LFN: u8 = 0x0F;
const ATTR_DIR: u8 = 0x10;

struct Layout {
    cluster_bytes: u64,
    data: u64,
}

impl Layout {
    fn cluster(&self, n: u32) -> u64 {
        self.data + u64::from(n - 2) * self.cluster_bytes
    }
}

pub fn fix_dot_entries(file: &File, path: &Utf8Path, start: u64) -> Result<()> {
    let b = read_at(file, path, start, 512)?;
    let bps = u64::from(le16(&b, 11));
    let spc = u64::from(b[13]);
    let reserved = u64::from(le16(&b, 14));
    let fats = u64::from(b[16]);
    let root_entries = u64::from(le16(&b, 17));
    let fat_sectors = match le16(&b, 22) {
        0 => u64::from(le32(&b, 36)),
        n => u64::from(n),
    };
    let root_region = start + (reserved + fats * fat_sectors) * bps;
    let l = Layout {
        cluster_bytes: spc * bps,
        data: root_region + root_entries * 32,
    };
    let (root_off, root_len) = if root_entries == 0 {
        (l.cluster(le32(&b, 44)), l.cluster_bytes) // FAT32: root is a cluster chain
    } else {
        (root_region, root_entries * 32)
    };
    walk(file, path, &l, root_off, root_len, 0).context("cannot tidy the ESP's directories")
}

fn walk(file: &File, path: &Utf8Path, l: &Layout, off: u64, len: u64, depth: usize) -> Result<()> {
    ensure!(depth < 16, "directories nested too deeply");
    let dir = read_at(file, path, off, len as usize)?;
    let mut children = Vec::new();
    for e in dir.chunks(32) {
        if e[0] == 0 {
            break;
        }
        let is_dot = e[0] == b'.';
        if e[0] != 0xE5 && e[11] != ATTR_LFN && e[11] & ATTR_DIR != 0 && !is_dot {
            let cluster = (u32::from(le16(e, 20)) << 16) | u32::from(le16(e, 26));
            children.push(cluster);
        }
    }
    // The last slot of a full first cluster means the directory may go on.
    ensure!(
        depth == 0 || dir[dir.len() - 32] == 0,
        "a directory fills more than one cluster"
    );
    for c in children {
        let child = l.cluster(c);
        let mut buf = read_at(file, path, child, l.cluster_bytes as usize)?;
        if compact(&mut buf) {
            write_at(file, path, child, &buf)?;
        }
        walk(file, path, l, child, l.cluster_bytes, depth + 1)?;
    }
    Ok(())
}

/// Drop LFN entries that belong to "." or "..". True if anything changed.
fn compact(dir: &mut [u8]) -> bool {
    let entries: Vec<&[u8]> = dir.chunks(32).collect();
    let mut keep: Vec<Vec<u8>> = Vec::new();
    let mut pending: Vec<Vec<u8>> = Vec::new();
    for e in entries {
        if e[0] == 0 {
            break;
        }
        if e[11] == ATTR_LFN && e[0] != 0xE5 {
            pending.push(e.to_vec());
            continue;
        }
        let dot = &e[..11] == b".          " || &e[..11] == b"..         ";
        if !dot {
            keep.append(&mut pending);
        }
        pending.clear();
        keep.push(e.to_vec());
    }
    let mut out = keep.concat();
    out.resize(dir.len(), 0);
    let changed = out != dir;
    dir.copy_from_slice(&out);
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &[u8; 11], attr: u8) -> Vec<u8> {
        let mut e = vec![0u8; 32];
        e[..11].copy_from_slice(name);
        e[11] = attr;
        e
    }

    #[test]
    fn drops_lfn_entries_of_dot_and_dotdot_only() {
        let lfn = entry(b"A.\0\0\0\xff\xff\xff\xff\xff\xff", ATTR_LFN);
        let boot_lfn = entry(b"AB\0o\0o\0t\0\0\0", ATTR_LFN);
        let parts = [
            lfn.clone(),
            entry(b".          ", ATTR_DIR),
            lfn,
            entry(b"..         ", ATTR_DIR),
            boot_lfn.clone(),
            entry(b"BOOT       ", ATTR_DIR),
        ];
        let mut dir = parts.concat();
        dir.resize(512, 0);
        assert!(compact(&mut dir));
        assert_eq!(&dir[..11], b".          ");
        assert_eq!(&dir[32..43], b"..         ");
        assert_eq!(&dir[64..96], &boot_lfn[..]);
        assert_eq!(&dir[96..107], b"BOOT       ");
        assert!(dir[128..].iter().all(|&b| b == 0));
        assert!(!compact(&mut dir));
    }
}
