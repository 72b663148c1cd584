//! The bootloader tarball (`dist/efi.tar.xz`): read it into memory (it is
//! a few MB) and check it holds what the ESP needs.

use std::io::Read;

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

/// Files the ESP must hold for gen-kexec to boot.
pub const REQUIRED: &[&str] = &["EFI/Boot/bootx64.efi", "kexec.sourceme"];

/// What to do about a wrong tarball.
const PASS: &str = "pass gen-kexec's efi.tar.xz (built by `cargo xtask tarball`) with --tarball";

/// Regular files of the tarball, sorted by path, as (path, bytes).
pub fn read(path: &Utf8Path) -> Result<Vec<(String, Vec<u8>)>> {
    let file = std::fs::File::open(path).with_context(|| {
        format!("cannot open the bootloader tarball {path} (build it with `cargo xtask tarball`, or pass --tarball)")
    })?;
    let mut archive = tar::Archive::new(xz2::read::XzDecoder::new(file));
    let mut files = Vec::new();
    let entries = archive
        .entries()
        .with_context(|| format!("{path}: not a .tar.xz archive; {PASS}"))?;
    for entry in entries {
        let mut entry =
            entry.with_context(|| format!("{path}: not a readable .tar.xz archive; {PASS}"))?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let name = name
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() || name.is_empty() {
            continue;
        }
        if !kind.is_file() {
            bail!(
                "{path}: {name} is not a regular file; the ESP can only hold files and directories"
            );
        }
        if name.starts_with('/') || name.split('/').any(|p| p == ".." || p.is_empty()) {
            bail!("{path}: unsafe member name {name:?}");
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("{path}: cannot read {name}"))?;
        files.push((name, bytes));
    }
    files.sort();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !files.iter().any(|(n, _)| n == r))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{path}: the tarball lacks {} (it must hold {}); {PASS}",
            missing.join(" and "),
            REQUIRED.join(" and ")
        );
    }
    Ok(files)
}
