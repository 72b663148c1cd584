//! Small file-system helpers: atomic writes and sorted walks.

use std::io::Write;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

/// `path` with `.partial` appended: where outputs are written before rename.
pub fn partial_path(path: &Utf8Path) -> Utf8PathBuf {
    Utf8PathBuf::from(format!("{path}.partial"))
}

/// Write `bytes` to `path.partial`, fsync, then rename over `path`.
pub fn write_atomic(path: &Utf8Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    }
    let tmp = partial_path(path);
    let result = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot create {tmp}"))?;
        f.write_all(bytes)
            .with_context(|| format!("cannot write {tmp}"))?;
        f.sync_all().with_context(|| format!("cannot sync {tmp}"))?;
        rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub fn rename(from: &Utf8Path, to: &Utf8Path) -> Result<()> {
    std::fs::rename(from, to).with_context(|| format!("cannot rename {from} to {to}"))
}

/// Every entry below `root` (not `root` itself), sorted by path, without
/// following symbolic links.
pub fn walk_sorted(root: &Utf8Path) -> Result<Vec<Utf8PathBuf>> {
    let mut out = Vec::new();
    walk_into(root, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk_into(dir: &Utf8Path, out: &mut Vec<Utf8PathBuf>) -> Result<()> {
    let entries = dir
        .read_dir_utf8()
        .with_context(|| format!("cannot read directory {dir}"))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read directory {dir}"))?;
        let path = entry.path().to_owned();
        let is_dir = entry.file_type()?.is_dir();
        out.push(path.clone());
        if is_dir {
            walk_into(&path, out)?;
        }
    }
    Ok(())
}

/// Remove a directory tree if it exists.
pub fn remove_dir_all_if_exists(dir: &Utf8Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {dir}"))
        }
        _ => Ok(()),
    }
}
