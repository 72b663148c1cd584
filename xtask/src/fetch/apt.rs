//! Last resort: `apt-get source --download-only PACKAGE=VERSION` in a
//! temporary directory inside the cache, then the file with the pinned
//! sha256 is picked among what apt downloaded (Debian renames upstream
//! tarballs to `PACKAGE_VERSION.orig.tar.*`; the content is what counts).

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::{cmd, Shell};

use super::{http::Downloaded, locate, Ctx, Origin};
use crate::lock::Source;

/// Whether `apt-get` is on PATH.
pub fn available() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("apt-get").is_file()))
}

/// Fetch `src` with apt-get; the file (sha256-checked when pinned) is left
/// at `Downloaded::partial`, for the caller to move into place.
pub fn source(ctx: &Ctx, src: &Source, debian: &str) -> Result<Downloaded> {
    let tmp = Utf8PathBuf::from(format!("{}/.apt-{}", ctx.cache, std::process::id()));
    crate::fsutil::remove_dir_all_if_exists(&tmp)?;
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {tmp}"))?;
    let result = source_in(ctx, src, debian, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn source_in(ctx: &Ctx, src: &Source, debian: &str, tmp: &Utf8Path) -> Result<Downloaded> {
    let sh = Shell::new()?;
    sh.change_dir(tmp);
    eprintln!(
        "{}: trying `apt-get source --download-only {debian}`",
        src.file
    );
    let out = cmd!(sh, "apt-get source --download-only {debian}")
        .ignore_status()
        .quiet()
        .output()
        .context("cannot run apt-get")?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!(
            "`apt-get source --download-only {debian}` failed ({}): {}\n  \
             (it needs `deb-src` lines in /etc/apt/sources.list* and the version still in the archive)",
            out.status,
            stderr.trim()
        );
    }
    let names = locate::candidate_names(src);
    let mut seen = Vec::new();
    for entry in crate::fsutil::walk_sorted(tmp)? {
        if !entry.is_file() {
            continue;
        }
        let name = entry.file_name().unwrap_or_default();
        let sha256 = crate::stamp::sha256_file(&entry)?;
        let wanted = match &src.sha256 {
            Some(expected) => *expected == sha256,
            None => names.iter().any(|n| n == name),
        };
        if wanted {
            let partial = crate::fsutil::partial_path(&ctx.cache.join(&src.file));
            crate::fsutil::rename(&entry, &partial)?;
            return Ok(Downloaded {
                partial,
                sha256,
                origin: Origin::Apt(debian.to_owned()),
            });
        }
        seen.push(format!("{name} (sha256 {sha256})"));
    }
    bail!(
        "`apt-get source {debian}` gave no file with sha256 {}; it gave:\n    {}\n  \
         likely cause: sources.lock's `debian` coordinates or sha256 are out of date",
        src.sha256.as_deref().unwrap_or("(not pinned)"),
        seen.join("\n    ")
    )
}
