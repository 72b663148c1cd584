//! The repository's own patches to a pinned source: `patches/<component>/*.patch`.
//!
//! A patch is part of the component's declaration, next to its
//! `sources.lock` entry: [`of`] lists them in name order, the extract step
//! takes each file's contents as an input (a changed patch re-extracts and
//! rebuilds), and [`apply`] runs them over the freshly unpacked tree before
//! it is renamed into place, so a tree is either the tarball plus every
//! patch or not there at all. Patches must apply exactly: no fuzz, no
//! offset guessing beyond what `patch` does for a context that matches, no
//! reversed or already-applied hunks.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

/// The patches of `component` under `root/patches/<component>/`, in name
/// order (`0001-...`, `0002-...`); none when the directory does not exist.
pub fn of(root: &Utf8Path, component: &str) -> Result<Vec<Utf8PathBuf>> {
    let dir = root.join("patches").join(component);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {dir}")),
    };
    let mut patches = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {dir}"))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!("{dir}: a file name that is not UTF-8: {name:?}");
        };
        if name.ends_with(".patch") {
            patches.push(dir.join(name));
        } else if !name.starts_with('.') && name != "README.md" {
            bail!(
                "{dir}/{name}: not a patch (expected NNNN-what-it-does.patch, or README.md); \
                 rename it or move it out of {dir}"
            );
        }
    }
    patches.sort();
    Ok(patches)
}

/// Apply `patches` in order to the tree at `tree` (`patch -p1`, no fuzz).
pub fn apply(tree: &Utf8Path, patches: &[Utf8PathBuf]) -> Result<()> {
    for patch in patches {
        let out = std::process::Command::new("patch")
            .args([
                "-p1",
                "--forward",
                "--batch",
                "--fuzz=0",
                "--no-backup-if-mismatch",
            ])
            .args(["--reject-file=-", "--quiet", "-d"])
            .arg(tree.as_str())
            .arg("-i")
            .arg(patch.as_str())
            .env("LC_ALL", "C")
            .output()
            .context(
                "cannot run `patch` (Debian package patch; `cargo xtask host-deps` installs it)",
            )?;
        if !out.status.success() {
            bail!(
                "{patch} does not apply to the pinned source ({}): {}{}\
                 refresh the patch against the version in sources.lock, or remove it",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
        }
    }
    Ok(())
}
