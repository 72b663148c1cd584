//! The bootloader's initramfs: `initramfs-skel/layout.toml` (directories,
//! device nodes, files, where the built programs go) written as a newc cpio
//! with sorted entries, owner 0:0 and mtime = SOURCE_DATE_EPOCH. Device
//! nodes are cpio headers, so no root and no mknod are needed.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;

use crate::plan::{Stage, Step};
use crate::recipes::{Dirs, Target};
use crate::stamp::Input;
use crate::ws::Ws;

pub const SKEL_DIR: &str = "initramfs-skel";
pub const LAYOUT_FILE: &str = "initramfs-skel/layout.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub directories: Vec<String>,
    #[serde(default, rename = "device")]
    pub devices: Vec<Device>,
    #[serde(default, rename = "file")]
    pub files: Vec<File>,
    /// Program name -> path in the initramfs.
    #[serde(default)]
    pub binaries: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: DeviceKind,
    pub major: u32,
    pub minor: u32,
    pub mode: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Char,
    Block,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub path: String,
    /// Relative to `initramfs-skel/`.
    pub source: String,
    pub mode: u32,
}

impl Layout {
    pub fn load(root: &Utf8Path) -> Result<Layout> {
        let path = root.join(LAYOUT_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        toml::from_str(&text).with_context(|| format!("{path}: not a valid initramfs layout"))
    }

    /// The files of `initramfs-skel/` this layout reads.
    pub fn sources(&self, root: &Utf8Path) -> Vec<Utf8PathBuf> {
        self.files
            .iter()
            .map(|f| root.join(SKEL_DIR).join(&f.source))
            .collect()
    }
}

/// The plan component of the initramfs step.
pub fn component(target: Target) -> String {
    target.component("initramfs")
}

/// Where the initramfs step writes the cpio.
pub fn cpio_path(ws: &Ws, target: Target) -> Utf8PathBuf {
    Dirs::new(ws, target).out.join("initramfs.cpio")
}

/// The step writing the cpio from the layout, `initramfs-skel/` and the
/// built `binaries` (name -> file), after the components in `deps`.
pub fn step(
    ws: &Ws,
    target: Target,
    binaries: BTreeMap<String, Utf8PathBuf>,
    deps: &[String],
) -> Result<Step> {
    let layout = Layout::load(&ws.root).context("initramfs")?;
    let epoch = ws.source_date_epoch()?;
    let out = cpio_path(ws, target);
    let mut step = Step::new(&component(target), Stage::Build)
        .value("mtime", epoch.to_string())
        .input(Input::File(ws.root.join(LAYOUT_FILE)));
    for src in layout.sources(&ws.root) {
        step = step.input(Input::File(src));
    }
    for (name, path) in &binaries {
        step = step.value("binary", format!("{name}={path}"));
    }
    for d in deps {
        step = step.dep(d);
    }
    let dest = out.clone();
    Ok(step
        .native(format!("write the newc cpio {out}"), move |ws| {
            let bytes = write_cpio(&entries(&layout, &ws.root, &binaries)?, epoch)?;
            crate::fsutil::write_atomic(&dest, &bytes)
        })
        .output(out))
}

/// One cpio entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(Vec<u8>),
    Device(DeviceKind, u32, u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    /// Permission bits only (no file type).
    pub perm: u32,
    pub kind: Kind,
}

/// The entries of the layout, sorted by path. `binaries` maps each program
/// named in `[binaries]` to its built file; `root` is the workspace.
pub fn entries(
    layout: &Layout,
    root: &Utf8Path,
    binaries: &BTreeMap<String, Utf8PathBuf>,
) -> Result<Vec<Entry>> {
    let mut out: BTreeMap<String, Entry> = BTreeMap::new();
    let mut add = |e: Entry| -> Result<()> {
        let p = &e.path;
        if p.is_empty()
            || p.starts_with('/')
            || p.ends_with('/')
            || p.split('/').any(|c| c.is_empty() || c == "." || c == "..")
        {
            bail!("{LAYOUT_FILE}: `{p}`: expected a relative path like `dev/null` (no leading /, no . or ..)");
        }
        if out.insert(p.clone(), e.clone()).is_some() {
            bail!("{LAYOUT_FILE}: `{}` is declared twice", e.path);
        }
        Ok(())
    };
    for d in &layout.directories {
        add(Entry {
            path: d.clone(),
            perm: 0o755,
            kind: Kind::Dir,
        })?;
    }
    for d in &layout.devices {
        add(Entry {
            path: d.path.clone(),
            perm: check_perm(&d.path, d.mode)?,
            kind: Kind::Device(d.kind, d.major, d.minor),
        })?;
    }
    for f in &layout.files {
        let src = root.join(SKEL_DIR).join(&f.source);
        let bytes = std::fs::read(&src)
            .with_context(|| format!("{LAYOUT_FILE}: cannot read `{}` ({src})", f.source))?;
        add(Entry {
            path: f.path.clone(),
            perm: check_perm(&f.path, f.mode)?,
            kind: Kind::File(bytes),
        })?;
    }
    for (name, dest) in &layout.binaries {
        let Some(src) = binaries.get(name) else {
            bail!(
                "{LAYOUT_FILE}: binary `{name}` is not built by the xtask (built: {})",
                names(binaries)
            );
        };
        let bytes =
            std::fs::read(src).with_context(|| format!("cannot read the built {name} at {src}"))?;
        add(Entry {
            path: dest.clone(),
            perm: 0o755,
            kind: Kind::File(bytes),
        })?;
    }
    for name in binaries.keys() {
        if !layout.binaries.contains_key(name) {
            bail!("{LAYOUT_FILE}: [binaries] does not say where `{name}` goes");
        }
    }
    for e in out.values() {
        if let Some((parent, _)) = e.path.rsplit_once('/') {
            if !matches!(
                out.get(parent),
                Some(Entry {
                    kind: Kind::Dir,
                    ..
                })
            ) {
                bail!(
                    "{LAYOUT_FILE}: `{}` needs its parent directory `{parent}` in `directories`",
                    e.path
                );
            }
        }
    }
    Ok(out.into_values().collect())
}

fn names(m: &BTreeMap<String, Utf8PathBuf>) -> String {
    m.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn check_perm(path: &str, mode: u32) -> Result<u32> {
    if mode & !0o777 != 0 {
        bail!("{LAYOUT_FILE}: `{path}`: mode {mode:o} must be permission bits only (e.g. 0o644)");
    }
    Ok(mode)
}

/// The newc archive of `entries` (already sorted): inodes numbered from 1
/// in order, owner 0:0, every mtime `mtime`.
pub fn write_cpio(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let mtime = u32::try_from(mtime)
        .context("SOURCE_DATE_EPOCH does not fit a cpio header (after 2106)")?;
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let (ftype, nlink, data, (rmaj, rmin)): (u32, u32, &[u8], _) = match &e.kind {
            Kind::Dir => (0o040000, 2, &[], (0, 0)),
            Kind::File(b) => (0o100000, 1, b, (0, 0)),
            Kind::Device(DeviceKind::Char, ma, mi) => (0o020000, 1, &[], (*ma, *mi)),
            Kind::Device(DeviceKind::Block, ma, mi) => (0o060000, 1, &[], (*ma, *mi)),
        };
        let size =
            u32::try_from(data.len()).with_context(|| format!("{} is over 4 GiB", e.path))?;
        let mut w = cpio::NewcBuilder::new(&e.path)
            .ino(i as u32 + 1)
            .mode(ftype | e.perm)
            .uid(0)
            .gid(0)
            .nlink(nlink)
            .mtime(mtime)
            .rdev_major(rmaj)
            .rdev_minor(rmin)
            .write(&mut out, size);
        std::io::Write::write_all(&mut w, data)?;
        w.finish()?;
    }
    cpio::newc::trailer(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
