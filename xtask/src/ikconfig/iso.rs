//! A small read-only ISO9660 (ECMA-119) reader, working on the image file
//! itself: no mount, no root. It reads the primary volume descriptor, walks
//! directory records, and names entries by their Rock Ridge `NM` name when
//! there is one (following `CE` continuation areas), else by their ISO name
//! (`GENTOO.;1` is `gentoo`, compared case-insensitively). When a path is
//! not found that way and the image has a Joliet tree, that tree is tried.
//!
//! Only what finding and reading a kernel needs: no multi-extent files, no
//! zisofs, no El Torito (boot images are plain files on Gentoo's ISOs).

use std::fs::File;
use std::os::unix::fs::FileExt;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

/// Volume descriptors start at sector 16; sectors are 2048 bytes there.
const DESCRIPTORS_AT: u64 = 16 * 2048;
const DESCRIPTOR_SIZE: usize = 2048;
/// Sanity limits: a directory of this size holds ~100k entries; a file of
/// `MAX_FILE` is far bigger than any kernel or boot config.
const MAX_DIR: u32 = 16 << 20;
const MAX_FILE: u32 = 512 << 20;
/// A path to look up has at most this many components.
const MAX_PATH_DEPTH: usize = 64;

/// One directory record.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub extent: u32,
    pub size: u32,
    pub is_dir: bool,
}

pub struct Iso {
    path: Utf8PathBuf,
    file: File,
    len: u64,
    block: u64,
    root: Entry,
    joliet_root: Option<Entry>,
}

impl Iso {
    /// Open `path` and read its volume descriptors. Errors name the file
    /// and say what was wrong.
    pub fn open(path: &Utf8Path) -> Result<Iso> {
        let file = File::open(path).with_context(|| format!("cannot open ISO image {path}"))?;
        let len = file
            .metadata()
            .with_context(|| format!("cannot stat {path}"))?
            .len();
        if len < DESCRIPTORS_AT + DESCRIPTOR_SIZE as u64 {
            bail!(
                "{path}: not an ISO9660 image: {len} bytes, too short to hold the volume \
                 descriptors at byte {DESCRIPTORS_AT}"
            );
        }
        let mut iso = Iso {
            path: path.to_owned(),
            file,
            len,
            block: 2048,
            root: Entry {
                name: String::new(),
                extent: 0,
                size: 0,
                is_dir: true,
            },
            joliet_root: None,
        };
        iso.read_descriptors()?;
        Ok(iso)
    }

    fn read_descriptors(&mut self) -> Result<()> {
        let path = self.path.clone();
        let mut primary = None;
        for i in 0..64u64 {
            let at = DESCRIPTORS_AT + i * DESCRIPTOR_SIZE as u64;
            let d = self.read_at(at, DESCRIPTOR_SIZE)?;
            if &d[1..6] != b"CD001" {
                if i == 0 {
                    bail!(
                        "{path}: not an ISO9660 image: no volume descriptor (`CD001`) at byte \
                         {DESCRIPTORS_AT}"
                    );
                }
                bail!("{path}: volume descriptor {i} at byte {at} lacks `CD001`: corrupt image");
            }
            match d[0] {
                1 if primary.is_none() => primary = Some(d),
                2 if matches!(&d[88..91], b"%/@" | b"%/C" | b"%/E") => {
                    self.joliet_root = Some(parse_record(&d[156..190], true, &path)?.0);
                }
                255 => break,
                _ => {}
            }
        }
        let d = primary.with_context(|| format!("{path}: no primary volume descriptor"))?;
        self.block = u64::from(u16::from_le_bytes([d[128], d[129]]));
        if !matches!(self.block, 512 | 1024 | 2048) {
            bail!(
                "{path}: logical block size {} is not 512, 1024 or 2048: corrupt image",
                self.block
            );
        }
        let blocks = u64::from(u32::from_le_bytes(d[80..84].try_into().expect("4 bytes")));
        let need = blocks * self.block;
        if self.len < need {
            bail!(
                "{path}: truncated ISO9660 image: its volume descriptor says {need} bytes \
                 ({blocks} blocks of {}), the file has {}; download or copy it again",
                self.block,
                self.len
            );
        }
        self.root = parse_record(&d[156..190], false, &path)?.0;
        Ok(())
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        if offset.saturating_add(len as u64) > self.len {
            bail!(
                "{}: truncated or corrupt ISO9660 image: needs bytes {offset}..{} but the file \
                 has {}",
                self.path,
                offset + len as u64,
                self.len
            );
        }
        let mut buf = vec![0; len];
        self.file
            .read_exact_at(&mut buf, offset)
            .with_context(|| format!("{}: cannot read {len} bytes at {offset}", self.path))?;
        Ok(buf)
    }

    /// The contents of a file entry.
    pub fn read(&self, e: &Entry) -> Result<Vec<u8>> {
        if e.size > MAX_FILE {
            bail!("{}: `{}` is {} bytes: too large", self.path, e.name, e.size);
        }
        self.read_at(u64::from(e.extent) * self.block, e.size as usize)
    }

    /// The entries of a directory (without `.` and `..`).
    pub fn list(&self, dir: &Entry, joliet: bool) -> Result<Vec<Entry>> {
        if dir.size > MAX_DIR {
            bail!(
                "{}: directory `{}` claims {} bytes: corrupt image",
                self.path,
                dir.name,
                dir.size
            );
        }
        let data = self.read(dir)?;
        let mut entries = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let len = usize::from(data[at]);
            if len == 0 {
                // Records do not cross sectors; the rest of this one is padding.
                at = (at / 2048 + 1) * 2048;
                continue;
            }
            let rec = data.get(at..at + len).with_context(|| {
                format!(
                    "{}: directory `{}`: record at {at} runs past its end",
                    self.path, dir.name
                )
            })?;
            let (mut entry, rock_ridge, continuation) = parse_record(rec, joliet, &self.path)?;
            let mut rock_ridge = rock_ridge.unwrap_or_default();
            if let Some((block, offset, length)) = continuation {
                if u64::from(offset) + length as u64 > self.block {
                    bail!(
                        "{}: directory `{}`: record at byte {at}: Rock Ridge CE entry says its \
                         continuation area is {length} bytes at offset {offset} of block {block}, \
                         past the end of that {}-byte block: corrupt image",
                        self.path,
                        dir.name,
                        self.block
                    );
                }
                let area =
                    self.read_at(u64::from(block) * self.block + u64::from(offset), length)?;
                rock_ridge.extend(rock_ridge_name(&area).0.unwrap_or_default());
            }
            if !rock_ridge.is_empty() && !entry.name.is_empty() {
                entry.name = String::from_utf8_lossy(&rock_ridge).into_owned();
            }
            if !entry.name.is_empty() {
                entries.push(entry);
            }
            at += len;
        }
        Ok(entries)
    }

    /// Find `path` (`/`-separated, relative to the root, case-insensitive).
    pub fn lookup(&self, path: &str) -> Result<Option<Entry>> {
        if let Some(e) = self.lookup_in(&self.root, path, false)? {
            return Ok(Some(e));
        }
        match &self.joliet_root {
            Some(root) => self.lookup_in(root, path, true),
            None => Ok(None),
        }
    }

    fn lookup_in(&self, root: &Entry, path: &str, joliet: bool) -> Result<Option<Entry>> {
        let mut cur = root.clone();
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.len() > MAX_PATH_DEPTH {
            bail!(
                "{}: path `{}` has {} components: more than {MAX_PATH_DEPTH}",
                self.path,
                path.chars().take(200).collect::<String>(),
                parts.len()
            );
        }
        for part in parts {
            if !cur.is_dir {
                return Ok(None);
            }
            let entries = self.list(&cur, joliet)?;
            let found = entries.iter().find(|e| e.name == part);
            let found =
                found.or_else(|| entries.iter().find(|e| e.name.eq_ignore_ascii_case(part)));
            match found {
                Some(e) => cur = e.clone(),
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// The contents of the file at `path`, or `None` if there is none.
    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.lookup(path)? {
            Some(e) if !e.is_dir => Ok(Some(self.read(&e)?)),
            _ => Ok(None),
        }
    }
}

/// Where a System Use continuation area is: block, offset, length.
type Continuation = Option<(u32, u32, usize)>;

/// Parse one directory record: the entry (named by its ISO or Joliet
/// name), its Rock Ridge name (or the first part of it) and, if its System
/// Use area goes on elsewhere, where.
fn parse_record(
    rec: &[u8],
    joliet: bool,
    path: &Utf8Path,
) -> Result<(Entry, Option<Vec<u8>>, Continuation)> {
    let name_len = usize::from(*rec.get(32).unwrap_or(&0));
    if rec.len() < 34 || usize::from(rec[0]) > rec.len() || 33 + name_len > rec.len() {
        bail!(
            "{path}: malformed directory record ({} bytes): corrupt image",
            rec.len()
        );
    }
    let extent = u32::from_le_bytes(rec[2..6].try_into().expect("4 bytes"));
    let size = u32::from_le_bytes(rec[10..14].try_into().expect("4 bytes"));
    let is_dir = rec[25] & 2 != 0;
    let raw = &rec[33..33 + name_len];
    let mut name = match raw {
        [0] | [1] => String::new(), // `.` and `..`
        _ if joliet => {
            let units: Vec<u16> = raw
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(raw).into_owned(),
    };
    if !is_dir {
        // `GENTOO.;1`: drop the version, then an empty extension's dot.
        if let Some(i) = name.rfind(';') {
            name.truncate(i);
        }
        if name.ends_with('.') {
            name.pop();
        }
    }
    if !joliet {
        name.make_ascii_lowercase();
    }
    let (rock_ridge, continuation) = if joliet {
        (None, None)
    } else {
        rock_ridge_name(&rec[(33 + name_len + (1 - name_len % 2)).min(rec.len())..])
    };
    Ok((
        Entry {
            name,
            extent,
            size,
            is_dir,
        },
        rock_ridge,
        continuation,
    ))
}

/// The Rock Ridge `NM` name in a System Use area (its parts joined), and
/// the `CE` continuation area if there is one.
fn rock_ridge_name(mut area: &[u8]) -> (Option<Vec<u8>>, Continuation) {
    let mut name: Option<Vec<u8>> = None;
    let mut ce = None;
    while area.len() >= 4 {
        let len = usize::from(area[2]);
        if len < 4 || len > area.len() {
            break;
        }
        let e = &area[..len];
        match &e[0..2] {
            b"NM" if len >= 5 && e[4] & 0b110 == 0 => {
                name.get_or_insert_with(Vec::new).extend_from_slice(&e[5..]);
            }
            b"CE" if len >= 28 => {
                let le = |at: usize| u32::from_le_bytes(e[at..at + 4].try_into().expect("4 bytes"));
                ce = Some((le(4), le(12), le(20) as usize));
            }
            b"ST" => break,
            _ => {}
        }
        area = &area[len..];
    }
    (name, ce)
}
