//! `inspect` for ext2/3/4 filesystems (a partition, or the whole image):
//! the label and UUID, the syslinux (extlinux) or GRUB config gen-kexec
//! would find there (gk_find_config, gk_find_grub_config) and the menu it
//! would offer. GRUB sees the disk's other partitions, as gk_grub_parts
//! gives them to the runtime parser: ext2/3/4 and FAT ones with their
//! files, the others by type only; `search --fs-uuid` and `(hd0,msdosN)`
//! reach them.

use std::fmt::Write as _;
use std::fs::File;

use anyhow::Result;
use camino::Utf8Path;

use super::extread::{self, Ext};
use super::inspect::{offer, show_config, MAX_CONFIG};
use super::table::Image;
use super::{fat, inspect_grub, SECTOR};
use crate::bootcfg::grub::{Files, Part, MAXBYTES};

/// Reads of kernels and initrds stop here (the model only needs to know
/// they exist; configs are at most GRUB's MAXBYTES).
const MAX_READ: u64 = MAXBYTES as u64;

struct ExtFiles<'e>(&'e Ext);

impl Files for ExtFiles<'_> {
    fn read(&mut self, p: &str) -> Option<Vec<u8>> {
        self.0.read_max(p, MAX_READ).ok().flatten()
    }
    fn list(&mut self, dir: &str) -> Vec<String> {
        self.0.list(dir)
    }
}

struct FatFiles<'f> {
    file: &'f File,
    start: u64,
    len: u64,
}

impl Files for FatFiles<'_> {
    fn read(&mut self, p: &str) -> Option<Vec<u8>> {
        let name = p.trim_start_matches('/');
        fat::read_file_max(self.file, self.start, self.len, name, MAX_READ).ok()
    }
    fn list(&mut self, _dir: &str) -> Vec<String> {
        Vec::new()
    }
}

/// The ext2/3/4 filesystem at `[start, start + len)`: `number` None for
/// the whole image.
pub fn show(
    o: &mut String,
    file: &File,
    path: &Utf8Path,
    image: Option<&Image>,
    number: Option<usize>,
    start: u64,
    len: u64,
) -> Result<()> {
    let what = match number {
        Some(n) => format!("partition {n}"),
        None => "whole image".to_owned(),
    };
    let ext = match extread::open(file, start, len, &what) {
        Ok(e) => e,
        Err(e) => {
            writeln!(
                o,
                "  {what}: ext2/3/4 superblock, but it does not load: {e:#}"
            )?;
            return Ok(());
        }
    };
    writeln!(
        o,
        "  {what}: {}, label {:?}, UUID {}",
        ext.fstype, ext.label, ext.uuid
    )?;
    let mut read = |p: &str| ext.read_max(p, MAX_READ);
    if let Some(cfg) = crate::bootcfg::find_config(&mut read)? {
        let text = ext.read_max(&cfg, MAX_CONFIG)?.unwrap_or_default();
        show_config(o, &format!("{cfg} ({what})"), &text)?;
        return offer(o, &mut read, &cfg, ext.fstype);
    }
    for p in inspect_grub::GRUB_CONFIGS {
        let cfg = format!("/{p}");
        let Some(text) = ext.read_max(&cfg, MAX_CONFIG)? else {
            continue;
        };
        show_config(o, &format!("{cfg} ({what})"), &text)?;
        let parts = grub_parts(file, path, image, number, &ext)?;
        let cfgname = number.map_or("image".to_owned(), |n| format!("part{n}"));
        return inspect_grub::offer_parts(o, parts, &cfgname, &cfg);
    }
    writeln!(
        o,
        "    no isolinux.cfg, syslinux.cfg, extlinux.conf, nor a GRUB config"
    )?;
    Ok(())
}

/// The partitions GRUB reaches (gk_grub_parts): the one holding the
/// config (`ext`, partition `number`, or the whole image) and the others.
fn grub_parts<'a>(
    file: &'a File,
    path: &Utf8Path,
    image: Option<&Image>,
    number: Option<usize>,
    ext: &'a Ext,
) -> Result<Vec<Part<'a>>> {
    let own = |num: Option<usize>| Part {
        name: num.map_or("image".to_owned(), |n| format!("part{n}")),
        num: num.map(|n| n as u32),
        fstype: ext.fstype.into(),
        uuid: ext.uuid.clone(),
        label: ext.label.clone(),
        files: Some(Box::new(ExtFiles(ext)) as Box<dyn Files + 'a>),
    };
    let (Some(number), Some(image)) = (number, image) else {
        return Ok(vec![own(None)]);
    };
    let mut parts = Vec::new();
    for p in image.partitions() {
        if p.number == number {
            parts.push(own(Some(number)));
            continue;
        }
        let (start, len) = (p.start * SECTOR, p.sectors * SECTOR);
        let mut part = Part {
            name: format!("part{}", p.number),
            num: Some(p.number as u32),
            fstype: String::new(),
            uuid: String::new(),
            label: String::new(),
            files: None,
        };
        if p.start == 0 || start.saturating_add(len) > image.len || len < 2048 {
            parts.push(part);
            continue;
        }
        let boot = super::read_at(file, path, start, SECTOR as usize)?;
        let sb = super::read_at(file, path, start + 1024, 1024)?;
        if fat::looks_like_fat(&boot) {
            if let Ok(s) = fat::summarize(file, start, len) {
                part.fstype = "vfat".into();
                part.uuid = format!("{:04X}-{:04X}", s.volume_id >> 16, s.volume_id & 0xffff);
                part.label = s.root_label.unwrap_or(s.label).trim_end().to_owned();
                part.files = Some(Box::new(FatFiles { file, start, len }));
            }
        } else if extread::looks_like_ext(&sb) {
            if let Ok(e) = extread::open(file, start, len, &format!("partition {}", p.number)) {
                part.fstype = e.fstype.into();
                part.uuid = e.uuid.clone();
                part.label = e.label.clone();
                part.files = Some(Box::new(OwnedExt(e)));
            }
        }
        parts.push(part);
    }
    Ok(parts)
}

struct OwnedExt(Ext);

impl Files for OwnedExt {
    fn read(&mut self, p: &str) -> Option<Vec<u8>> {
        ExtFiles(&self.0).read(p)
    }
    fn list(&mut self, dir: &str) -> Vec<String> {
        self.0.list(dir)
    }
}

#[cfg(test)]
#[path = "inspect_ext_tests.rs"]
mod tests;
