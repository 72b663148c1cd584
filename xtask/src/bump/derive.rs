//! What a bump of one component means for each of its source alternatives,
//! derived from the current lock entry before anything is downloaded.
//!
//! The new file names and URLs are the old ones with the version replaced.
//! The new sha256 is never derived: it comes from the download, after the
//! signature by a pinned signer verified (`Verify`), or, only when asked
//! for, from the download alone (`TrustOnFirstUse`). An alternative that
//! nothing would vouch for is dropped when another one is signed.

use anyhow::{bail, Result};

use crate::lock::{Component, Source};

/// What happens to one `[[component.NAME.source]]` alternative.
#[derive(Debug, Clone)]
pub enum Action {
    /// Download the new file and its signature; the signature must verify.
    Verify(Source),
    /// Download the new file and pin whatever sha256 it has (no signature).
    TrustOnFirstUse(Source),
    /// Remove the alternative from the entry, for this reason.
    Drop(String),
}

/// One alternative: its position in the current entry and what to do.
#[derive(Debug, Clone)]
pub struct Planned {
    pub index: usize,
    pub old: Source,
    pub action: Action,
}

/// The bump of `name` from its current version to `new_version`.
pub fn plan(
    name: &str,
    comp: &Component,
    new_version: &str,
    allow_unsigned: bool,
) -> Result<Vec<Planned>> {
    let old_version = comp.version.as_str();
    check_version(name, old_version, new_version)?;
    let any_signed = comp.source.iter().any(|s| s.signature.is_some());
    let mut planned = Vec::new();
    for (index, old) in comp.source.iter().enumerate() {
        let place = format!("[component.{name}] source #{} (`{}`)", index + 1, old.file);
        let new = derive_source(&place, old, old_version, new_version)?;
        let action = if old.signature.is_some() {
            Action::Verify(new)
        } else if allow_unsigned {
            Action::TrustOnFirstUse(new)
        } else if any_signed {
            Action::Drop(
                "no OpenPGP signature, so nothing would vouch for the new file; \
                 pass --allow-unsigned to keep it, pinned trust-on-first-use"
                    .to_owned(),
            )
        } else {
            bail!(
                "{name}: no source alternative has an OpenPGP signature in sources.lock, so \
                 the new sha256 would be whatever the server sends (trust on first use).\n  \
                 Either add the signer's public key to keys/ and a `signature` to the entry \
                 (then bump verifies it), or check the new tarball another way (a signed \
                 announcement, a distribution's checksum) and run again with --allow-unsigned."
            )
        };
        planned.push(Planned {
            index,
            old: old.clone(),
            action,
        });
    }
    Ok(planned)
}

/// The new `dir` for the entry (the version replaced where it appears).
pub fn new_dir(comp: &Component, new_version: &str) -> Option<String> {
    comp.dir
        .as_ref()
        .map(|dir| dir.replace(&comp.version, new_version))
}

fn check_version(name: &str, old: &str, new: &str) -> Result<()> {
    if new.is_empty()
        || !new
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '~'))
    {
        bail!("version `{new}`: expected something like 6.12.108 (letters, digits, `.-_+~`)");
    }
    if new == old {
        bail!("{name} is already at {new} in sources.lock: nothing to bump");
    }
    Ok(())
}

/// `old` with every occurrence of the version replaced; sha256s cleared
/// (they are learnt from the download), Debian coordinates dropped (a
/// Debian revision cannot be derived from an upstream version).
fn derive_source(place: &str, old: &Source, old_v: &str, new_v: &str) -> Result<Source> {
    let swap = |field: &str, value: &str| -> Result<String> {
        if !value.contains(old_v) {
            bail!(
                "{place}: `{field} = \"{value}\"` does not contain the current version {old_v}, \
                 so the new one cannot be derived from it: edit sources.lock by hand"
            );
        }
        Ok(value.replace(old_v, new_v))
    };
    // Debian's pool is dropped like the Debian coordinates: it ships a new
    // upstream version only later, under a name of its own.
    let urls = |field: &str, urls: &[String]| -> Result<Vec<String>> {
        urls.iter()
            .filter(|u| !u.contains("/debian/pool/"))
            .map(|u| swap(field, u))
            .collect()
    };
    let signature = match &old.signature {
        None => None,
        Some(sig) => {
            let mut sig = sig.clone();
            sig.file = swap("signature.file", &sig.file)?;
            sig.urls = urls("signature.urls", &sig.urls)?;
            sig.sha256 = None;
            Some(sig)
        }
    };
    if old.urls.is_empty() {
        bail!("{place}: no `urls` to download the new version from: edit sources.lock by hand");
    }
    Ok(Source {
        file: swap("file", &old.file)?,
        sha256: None,
        sha256_origin: None,
        urls: urls("urls", &old.urls)?,
        debian: None,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::Lock;

    fn real_lock() -> Lock {
        let root = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Lock::load(&root.join(crate::lock::LOCK_FILE)).unwrap()
    }

    #[test]
    fn linux_keeps_the_signed_kernel_org_tarball_and_drops_the_debian_repack() {
        let lock = real_lock();
        let comp = lock.get("linux").unwrap();
        let old = comp.version.clone();
        let plan = plan("linux", comp, "6.12.999", false).unwrap();
        assert_eq!(plan.len(), 2);
        assert!(matches!(plan[0].action, Action::Drop(_)), "{plan:?}");
        let Action::Verify(new) = &plan[1].action else {
            panic!("{plan:?}")
        };
        assert_eq!(new.file, "linux-6.12.999.tar.xz");
        assert_eq!(
            new.urls,
            ["https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.999.tar.xz"]
        );
        let sig = new.signature.as_ref().unwrap();
        assert_eq!(sig.file, "linux-6.12.999.tar.sign");
        assert_eq!(
            sig.signers,
            comp.source[1].signature.as_ref().unwrap().signers
        );
        assert!(new.sha256.is_none() && new.debian.is_none());
        assert_eq!(new_dir(comp, "6.12.999").as_deref(), Some("linux-6.12.999"));
        assert!(!new.urls[0].contains(&old));

        // With --allow-unsigned the repack stays, trust-on-first-use.
        let plan = plan_all(comp, true);
        assert!(matches!(&plan[0].action, Action::TrustOnFirstUse(s)
            if s.file == "linux_6.12.999.orig.tar.xz"));
    }

    fn plan_all(comp: &Component, allow: bool) -> Vec<Planned> {
        plan("x", comp, "6.12.999", allow).unwrap()
    }

    #[test]
    fn an_unsigned_component_needs_allow_unsigned() {
        let lock = real_lock();
        let comp = lock.get("kexec-tools").unwrap();
        let err = format!(
            "{:#}",
            plan("kexec-tools", comp, "2.0.30", false).unwrap_err()
        );
        assert!(
            err.contains("--allow-unsigned") && err.contains("trust on first use"),
            "{err}"
        );
        let plan = plan("kexec-tools", comp, "2.0.30", true).unwrap();
        let Action::TrustOnFirstUse(new) = &plan[0].action else {
            panic!("{plan:?}")
        };
        assert_eq!(new.urls.len(), 2);
        assert!(new
            .urls
            .iter()
            .all(|u| u.ends_with("/kexec-tools-2.0.30.tar.xz")));
    }

    #[test]
    fn bad_versions_and_underivable_names_are_refused() {
        let lock = real_lock();
        let comp = lock.get("busybox").unwrap();
        for (v, want) in [
            ("1.37.0", "already at"),
            ("1.38 beta", "expected something like"),
            ("../x", "expected something like"),
        ] {
            let err = format!("{:#}", plan("busybox", comp, v, false).unwrap_err());
            assert!(err.contains(want), "{v}: {err}");
        }
        let mut odd = comp.clone();
        odd.source[0].urls = vec!["https://busybox.net/downloads/latest.tar.bz2".to_owned()];
        let err = format!("{:#}", plan("busybox", &odd, "1.38.0", false).unwrap_err());
        assert!(
            err.contains("latest.tar.bz2") && err.contains("edit sources.lock by hand"),
            "{err}"
        );
    }
}
