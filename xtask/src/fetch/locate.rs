//! Finding a pinned file on disk: in the download cache, then in each
//! read-only mirror, under its own name or under Debian's name for the same
//! tarball (`busybox_1.37.0.orig.tar.bz2`), recognised by its sha256.

use anyhow::{bail, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::ctx::{Hashed, Pin};
use super::{mismatch_error, Ctx, Origin};
use crate::lock::Source;

/// A file found on disk, hashed.
#[derive(Debug, Clone)]
pub struct Located {
    pub path: Utf8PathBuf,
    pub sha256: String,
    pub origin: Origin,
    pub hashed: Hashed,
}

/// Look for `src` in the cache and the mirrors. A file under the expected
/// name with the wrong sha256 is an error (deleted first if it is in the
/// cache); a file under Debian's name with another sha256 is just not it.
pub fn find(ctx: &Ctx, src: &Source) -> Result<Option<Located>> {
    let names = candidate_names(src);
    for (dir, origin) in places(ctx) {
        for (k, name) in names.iter().enumerate() {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let (sha256, hashed) = ctx.sha256(&path)?;
            match Pin::of(src) {
                Some(pin) if pin.sha256 == sha256 => {}
                Some(pin) if k == 0 => {
                    ctx.reject(&path, &origin)?;
                    return Err(mismatch_error(&path, pin, &sha256, &origin));
                }
                // Not pinned by sha256: only the exact name can be it; the
                // signature decides.
                None if k == 0 => {}
                _ => continue,
            }
            return Ok(Some(Located {
                path,
                sha256,
                origin,
                hashed,
            }));
        }
    }
    Ok(None)
}

/// Look for a small companion file (a signature) by name, checking its
/// sha256 when the lock pins one.
pub fn find_named(ctx: &Ctx, name: &str, sha256: Option<&str>) -> Result<Option<Located>> {
    for (dir, origin) in places(ctx) {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        let actual = crate::stamp::sha256_file(&path)?;
        if let Some(pin) = Pin::sha256(sha256) {
            if pin.sha256 != actual {
                ctx.reject(&path, &origin)?;
                return Err(mismatch_error(&path, pin, &actual, &origin));
            }
        }
        return Ok(Some(Located {
            path,
            sha256: actual,
            origin,
            hashed: Hashed::Now,
        }));
    }
    Ok(None)
}

/// The cache first, then the mirrors in the order given.
fn places(ctx: &Ctx) -> Vec<(Utf8PathBuf, Origin)> {
    let mut places = vec![(ctx.cache.to_owned(), Origin::Cache)];
    for m in ctx.mirrors {
        places.push((m.clone(), Origin::Mirror(m.clone())));
    }
    places
}

/// The expected file name first, then Debian's `PKG_UPSTREAMVER.orig.EXT`.
pub fn candidate_names(src: &Source) -> Vec<String> {
    let mut names = vec![src.file.clone()];
    if let Some(debian) = &src.debian {
        if let Some(name) = debian_orig_name(debian, &src.file) {
            if name != src.file {
                names.push(name);
            }
        }
    }
    names
}

/// `busybox=1:1.37.0-6` and `busybox-1.37.0.tar.bz2` give
/// `busybox_1.37.0.orig.tar.bz2`.
pub fn debian_orig_name(debian: &str, file: &str) -> Option<String> {
    let (package, version) = debian.split_once('=')?;
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    let upstream = version.rsplit_once('-').map_or(version, |(u, _)| u);
    let ext = [".tar.xz", ".tar.gz", ".tar.bz2", ".tar.zst", ".tar"]
        .into_iter()
        .find(|e| file.ends_with(e))?;
    Some(format!("{package}_{upstream}.orig{ext}"))
}

/// Refuse to use a directory that does not exist as a mirror: a typo in
/// `--mirror` should not silently mean "download everything".
pub fn check_mirrors(mirrors: &[Utf8PathBuf]) -> Result<()> {
    for m in mirrors {
        if !Utf8Path::is_dir(m) {
            bail!("mirror {m} is not a directory: check --mirror / GEN_KEXEC_MIRROR");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_names() {
        assert_eq!(
            debian_orig_name("busybox=1:1.37.0-6", "busybox-1.37.0.tar.bz2").as_deref(),
            Some("busybox_1.37.0.orig.tar.bz2")
        );
        assert_eq!(
            debian_orig_name("musl=1.2.5-3.1~deb13u1", "musl-1.2.5.tar.gz").as_deref(),
            Some("musl_1.2.5.orig.tar.gz")
        );
        assert_eq!(
            debian_orig_name("linux=6.12.107-1", "linux_6.12.107.orig.tar.xz").as_deref(),
            Some("linux_6.12.107.orig.tar.xz")
        );
        assert_eq!(debian_orig_name("x=1.0", "x-1.0.zip"), None);
    }
}
