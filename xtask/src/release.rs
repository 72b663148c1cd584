//! `cargo xtask release`: everything a release holds, in `dist/`.
//!
//! Builds (or, through the stamps, reuses) the tarball, then `collect`
//! gathers into one folder: `efi.tar.xz`, `bootx64.efi`, the build manifest
//! `bootx64.manifest.toml`, the SBOM `gen-kexec.cdx.json` (CycloneDX 1.5,
//! see `sbom`), `SHA256SUMS` over those four, and `SHA256SUMS.asc`, a
//! detached OpenPGP signature of it, when a signing key is given (`sign`).
//! Every file but the signature is deterministic: same lock and tree, same
//! bytes. A run without a key removes an old `SHA256SUMS.asc`, which would
//! not match the new sums.

pub(crate) mod sign;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::kconfig::profile;
use crate::lock::Lock;
use crate::recipes::Target;
use crate::sbom::{self, SourceUsed, Subject};
use crate::stamp::sha256_file;
use crate::ws::Ws;
use crate::{bootloader, fsutil, plan, tarball};
pub use sign::SigningKey;

pub const SUMS: &str = "SHA256SUMS";
pub const SUMS_SIGNATURE: &str = "SHA256SUMS.asc";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Architecture to build for.
    #[arg(long, value_enum, default_value_t = Target::X86_64)]
    pub target: Target,
    /// Armored OpenPGP secret key to sign SHA256SUMS with [default: the
    /// key in $GEN_KEXEC_SIGNING_KEY, else no signature].
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<Utf8PathBuf>,
}

/// The build's outputs a release is made of.
#[derive(Debug, Clone)]
pub struct Built {
    pub tarball: Utf8PathBuf,
    pub efi: Utf8PathBuf,
    pub manifest: Utf8PathBuf,
}

/// What `collect` wrote.
#[derive(Debug, Clone)]
pub struct Release {
    /// File name and sha256, as in SHA256SUMS (sorted by name).
    pub files: Vec<(String, String)>,
    /// Fingerprint of the key that signed SHA256SUMS.
    pub signed_by: Option<String>,
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    // A bad key should fail before a long build, not after.
    let key = sign::load(args.signing_key.as_deref()).context("release: signing key")?;
    let (steps, tarball) =
        tarball::steps(ws, args.target, crate::kconfig::profile::DEFAULT_PROFILE)?;
    plan::execute(ws, &steps).context("release: build")?;
    if ws.dry_run {
        println!(
            "then collect into {}: efi.tar.xz, bootx64.efi, bootx64.manifest.toml, {}, {SUMS}{}",
            ws.dist,
            sbom::FILE,
            if key.is_some() {
                ", SHA256SUMS.asc"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let out = bootloader::outputs(ws, args.target, profile::DEFAULT_PROFILE);
    let built = Built {
        tarball,
        efi: out.efi,
        manifest: out.manifest,
    };
    let lock = ws.lock()?;
    let mut used = Vec::new();
    for (name, _) in lock.required() {
        let f = crate::fetch::ensure(ws, name).with_context(|| format!("release: {name}"))?;
        let mut patches = Vec::new();
        for p in crate::extract::patch::of(&ws.root, name)? {
            let rel = p.strip_prefix(&ws.root).unwrap_or(&p).to_string();
            patches.push((rel, crate::stamp::sha256_file(&p)?));
        }
        used.push(SourceUsed {
            component: name.clone(),
            index: f.source_index,
            sha256: f.sha256,
            patches,
        });
    }
    let release = collect(
        &built,
        lock,
        &used,
        ws.source_date_epoch()?,
        key.as_ref(),
        &ws.dist,
    )
    .context("release: collect")?;
    for (name, sha) in &release.files {
        println!("  {sha}  dist/{name}");
    }
    match &release.signed_by {
        Some(fpr) => println!("  dist/{SUMS_SIGNATURE}: signed by {fpr}"),
        None => println!(
            "  not signed: give --signing-key FILE or ${} to sign {SUMS}",
            sign::KEY_ENV
        ),
    }
    Ok(())
}

/// Gather a release into `out`: copy the built files there (unless they
/// are there already), write the SBOM, SHA256SUMS and, with a key, its
/// detached signature. Every file is written atomically.
pub fn collect(
    built: &Built,
    lock: &Lock,
    used: &[SourceUsed],
    epoch: u64,
    key: Option<&SigningKey>,
    out: &Utf8Path,
) -> Result<Release> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {out}"))?;
    // Gone first: a stale signature must never sit next to new sums.
    remove_if_exists(&out.join(SUMS_SIGNATURE))?;
    let mut files = Vec::new();
    for src in [&built.tarball, &built.efi, &built.manifest] {
        let name = src
            .file_name()
            .with_context(|| format!("{src}: not a file"))?;
        let dest = out.join(name);
        if !same_file(src, &dest) {
            let bytes = std::fs::read(src).with_context(|| format!("cannot read {src}"))?;
            fsutil::write_atomic(&dest, &bytes)?;
        }
        files.push((name.to_owned(), sha256_file(&dest)?));
    }
    let sha_of = |name: &str| files.iter().find(|f| f.0 == name).map(|f| f.1.clone());
    let subject = Subject {
        tarball_sha256: sha_of(built.tarball.file_name().unwrap_or_default()).unwrap_or_default(),
        efi_sha256: sha_of(built.efi.file_name().unwrap_or_default()).unwrap_or_default(),
    };
    let bom = sbom::cyclonedx(lock, used, &subject, epoch)?;
    fsutil::write_atomic(&out.join(sbom::FILE), &bom)?;
    files.push((sbom::FILE.to_owned(), crate::stamp::sha256_bytes(&bom)));
    files.sort();
    let sums: String = files
        .iter()
        .map(|(name, sha)| format!("{sha}  {name}\n"))
        .collect();
    fsutil::write_atomic(&out.join(SUMS), sums.as_bytes())?;
    let signed_by = match key {
        Some(key) => {
            let sig = sign::detached_armored(key, sums.as_bytes())?;
            fsutil::write_atomic(&out.join(SUMS_SIGNATURE), &sig)?;
            Some(key.fingerprint.clone())
        }
        None => None,
    };
    Ok(Release { files, signed_by })
}

fn same_file(a: &Utf8Path, b: &Utf8Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn remove_if_exists(path: &Utf8Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {path}"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
pub mod tests;
