//! Reading ext2/3/4 filesystems from images (untrusted), for `inspect`:
//! through ext4-view (read-only, pure Rust) on a byte range of the image
//! file, read on demand (never the whole partition in memory). Its errors
//! become messages naming the filesystem; a panic in it is a damaged
//! filesystem; reads are capped; the superblock is checked against the
//! partition first, so that a hostile one cannot make it allocate much
//! (ext4-view sizes its block group table from the superblock).

use std::fs::File;
use std::os::unix::fs::FileExt;

use anyhow::{anyhow, bail, Result};
use ext4_view::{Ext4, Ext4Error, Ext4Read};

/// At most this many block groups (16 bytes each in ext4-view): a 128 TiB
/// filesystem of 4 KiB blocks has 2^20.
const MAX_GROUPS: u64 = 1 << 20;
/// `list` returns at most this many names.
const MAX_LIST: usize = 10_000;
/// The longest symlink target followed (Linux's PATH_MAX less the NUL),
/// and the most symlinks followed in one path (Linux's MAXSYMLINKS).
const MAX_LINK: u64 = 4095;
const MAX_LINKS: u32 = 40;

/// The superblock (1024 bytes at byte 1024) says ext2/3/4.
pub fn looks_like_ext(sb: &[u8]) -> bool {
    sb.len() > 57 && sb[56] == 0x53 && sb[57] == 0xEF
}

fn u32_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
}

/// `[start, start + len)` of the image, for ext4-view: reads outside are
/// errors.
struct Range {
    file: File,
    start: u64,
    len: u64,
}

impl Ext4Read for Range {
    fn read(
        &mut self,
        at: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let end = at.checked_add(dst.len() as u64);
        if end.is_none_or(|e| e > self.len) {
            return Err(format!(
                "a read of {} bytes at byte {at}, beyond the end of the partition ({} bytes)",
                dst.len(),
                self.len
            )
            .into());
        }
        self.file.read_exact_at(dst, self.start + at)?;
        Ok(())
    }
}

/// An ext2/3/4 filesystem of the image, loaded.
pub struct Ext {
    fs: Ext4,
    what: String,
    /// blkid's TYPE: ext2, ext3 or ext4.
    pub fstype: &'static str,
    pub uuid: String,
    pub label: String,
}

/// ext4-view, with a panic in it reported as a damaged filesystem.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.unwrap_or_else(|p| {
        let why = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        bail!("{what}: damaged ext2/3/4 filesystem (the reader failed: {why})")
    })
}

fn fstype(sb: &[u8]) -> &'static str {
    let (compat, incompat, ro) = (u32_at(sb, 0x5c), u32_at(sb, 0x60), u32_at(sb, 0x64));
    // Beyond ext3: extents, 64bit, flex_bg, ...; huge_file, gdt_csum,
    // dir_nlink, extra_isize, metadata_csum.
    if incompat & !0x0006 != 0 || ro & !0x0007 != 0 {
        "ext4"
    } else if compat & 0x0004 != 0 {
        "ext3"
    } else {
        "ext2"
    }
}

/// Open the ext2/3/4 filesystem at `[start, start + len)` of `file`;
/// `what` names it in errors ("partition 2").
pub fn open(file: &File, start: u64, len: u64, what: &str) -> Result<Ext> {
    let mut sb = vec![0u8; 1024];
    if len < 2048 {
        bail!("{what}: too small for an ext2/3/4 filesystem ({len} bytes)");
    }
    file.read_exact_at(&mut sb, start + 1024)
        .map_err(|e| anyhow!("{what}: cannot read its superblock: {e}"))?;
    if !looks_like_ext(&sb) {
        bail!("{what}: no ext2/3/4 superblock");
    }
    let log = u32_at(&sb, 0x18);
    if log > 6 {
        bail!(
            "{what}: damaged ext2/3/4 superblock: block size 2^{} bytes",
            10 + log
        );
    }
    let block = 1024u64 << log;
    let incompat = u32_at(&sb, 0x60);
    let hi = if incompat & 0x80 != 0 {
        u32_at(&sb, 0x150)
    } else {
        0
    };
    let blocks = (hi << 32) | u32_at(&sb, 0x04);
    if blocks.checked_mul(block).is_none_or(|b| b > len) {
        bail!(
            "{what}: damaged ext2/3/4 superblock: {blocks} blocks of {block} bytes, more than the partition's {len} bytes"
        );
    }
    // The group count, both ways ext4-view may derive it (blocks and
    // inodes per group), rounded up: a fuzzed inode count made it push
    // 2^27 descriptors (a 2 GiB allocation) with the block count in range.
    let per_group = u32_at(&sb, 0x20).max(1);
    let inodes_per_group = u32_at(&sb, 0x28).max(1);
    // ext4-view may read the high half of the block count (0x150) even
    // without the 64bit feature: count with it too.
    let blocks_any = blocks.max((u32_at(&sb, 0x150) << 32) | u32_at(&sb, 0x04));
    let groups = blocks_any
        .div_ceil(per_group)
        .max(u32_at(&sb, 0x00).div_ceil(inodes_per_group));
    if groups > MAX_GROUPS {
        bail!(
            "{what}: ext2/3/4 superblock: {groups} block groups, more than inspect reads ({MAX_GROUPS})"
        );
    }
    let reader = Range {
        file: file.try_clone()?,
        start,
        len,
    };
    let fs = guarded(what, || {
        Ext4::load(Box::new(reader)).map_err(|e| anyhow!("{what}: ext2/3/4 filesystem: {e}"))
    })?;
    let label = String::from_utf8_lossy(&sb[0x78..0x88])
        .trim_end_matches('\0')
        .to_owned();
    Ok(Ext {
        uuid: fs.uuid().to_string(),
        fs,
        what: what.to_owned(),
        fstype: fstype(&sb),
        label,
    })
}

impl Ext {
    /// The first `limit` bytes of regular file `path` (from the root; a
    /// symlink is followed): None when there is no such regular file.
    pub fn read_max(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        guarded(&self.what, || {
            let Some(p) = self.resolve(path)? else {
                return Ok(None);
            };
            let mut f = match self.fs.open(p.as_str()) {
                Ok(f) => f,
                Err(e) if absent(&e) => return Ok(None),
                Err(e) => bail!("{}: {p}: {e}", self.what),
            };
            let size = f.metadata().len().min(limit) as usize;
            let mut out = vec![0u8; size];
            let mut n = 0;
            while n < size {
                match f.read_bytes(&mut out[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) => bail!("{}: {p}: {e}", self.what),
                }
            }
            out.truncate(n);
            Ok(Some(out))
        })
    }

    /// `path` (from the root) with its symlinks resolved here, one
    /// component at a time, each link's size checked before ext4-view
    /// reads it: ext4-view allocates the size a symlink's inode claims (a
    /// fuzzed one claimed 4 GB). None: no such path.
    fn resolve(&self, path: &str) -> Result<Option<String>> {
        let mut todo: Vec<Vec<u8>> = components(path.as_bytes());
        let mut done: Vec<Vec<u8>> = Vec::new();
        let mut links = 0;
        while let Some(c) = todo.pop() {
            match c.as_slice() {
                b"." => continue,
                b".." => {
                    done.pop();
                    continue;
                }
                _ => done.push(c),
            }
            let p = format!("/{}", String::from_utf8_lossy(&done.join(&b'/')));
            let md = match self.fs.symlink_metadata(p.as_str()) {
                Ok(md) => md,
                Err(e) if absent(&e) => return Ok(None),
                Err(e) => bail!("{}: {p}: {e}", self.what),
            };
            if !md.is_symlink() {
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                bail!("{}: {path}: more than {MAX_LINKS} symlinks", self.what);
            }
            if md.len() > MAX_LINK {
                bail!(
                    "{}: {p}: a symlink whose inode claims a {}-byte target (at most {MAX_LINK}): damaged filesystem",
                    self.what,
                    md.len()
                );
            }
            let target = self
                .fs
                .read_link(p.as_str())
                .map_err(|e| anyhow!("{}: {p}: {e}", self.what))?;
            done.pop();
            if target.as_ref().first() == Some(&b'/') {
                done.clear();
            }
            todo.extend(components(target.as_ref()));
        }
        let p = format!("/{}", String::from_utf8_lossy(&done.join(&b'/')));
        Ok(Some(p))
    }

    /// The names of the regular files in directory `dir`, sorted (at most
    /// `MAX_LIST`); none when it cannot be read.
    pub fn list(&self, dir: &str) -> Vec<String> {
        guarded(&self.what, || {
            let Some(p) = self.resolve(dir)? else {
                return Ok(Vec::new());
            };
            let mut v = Vec::new();
            for e in self.fs.read_dir(p.as_str())?.take(MAX_LIST) {
                let e = e?;
                if e.file_type()?.is_regular_file() {
                    if let Ok(n) = e.file_name().as_str() {
                        v.push(n.to_owned());
                    }
                }
            }
            v.sort();
            Ok(v)
        })
        .unwrap_or_default()
    }
}

/// The components of a path, last first (a stack to pop).
fn components(path: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    v.reverse();
    v
}

/// ext4-view's answers that mean "no such file" to a reader of configs.
fn absent(e: &Ext4Error) -> bool {
    matches!(
        e,
        Ext4Error::NotFound
            | Ext4Error::IsADirectory
            | Ext4Error::NotADirectory
            | Ext4Error::IsASpecialFile
            | Ext4Error::MalformedPath
            | Ext4Error::PathTooLong
    )
}
