//! `cargo xtask bump COMPONENT VERSION`: move one component of
//! `sources.lock` to a new upstream version, verified.
//!
//! The new file names and URLs are derived from the current entry
//! (`derive`). Each new file is downloaded with the fetch code (retries,
//! resume, mirrors) into a private staging folder and checked like any
//! fetch: the OpenPGP signature must be made by one of the entry's pinned
//! signers (for kernel.org over the decompressed tar; for Gentoo's ISO a
//! clearsigned DIGESTS listing its SHA512). Only then is its
//! sha256 computed and the entry rewritten in place (`edit`), its
//! provenance saying how the sha256 was obtained. Anything that fails,
//! a download, a signature, leaves `sources.lock` and the download cache as
//! they were. `--dry-run` does everything except write.

mod derive;
mod edit;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::fetch::{Ctx, Mode};
use crate::fsutil;
use crate::lock::{Covers, Lock, Source, LOCK_FILE};
use crate::ws::Ws;
use derive::Action;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Component of sources.lock (linux, busybox, kexec-tools, musl,
    /// gentoo-minimal-iso once its template is uncommented).
    pub component: String,
    /// New upstream version, e.g. 6.12.108 (for gentoo-minimal-iso the
    /// release stamp, e.g. 20251123T153051Z).
    pub version: String,
    /// Also pin sources that have no OpenPGP signature, by the sha256 of
    /// whatever the server sends (trust on first use): check it yourself.
    #[arg(long)]
    pub allow_unsigned: bool,
}

/// Where a bump reads and writes.
pub struct Env<'a> {
    /// Holds `sources.lock` and the keyrings it names.
    pub root: &'a Utf8Path,
    /// The download cache: verified files are moved there.
    pub cache: &'a Utf8Path,
    pub mirrors: &'a [Utf8PathBuf],
    /// Adjust the fetch context (tests shorten retries).
    pub tune: fn(&mut Ctx),
}

/// One kept alternative, before and after.
#[derive(Debug, Clone)]
pub struct Pin {
    pub old: Source,
    pub new: Source,
    /// "signature ok by FPR" or "trust on first use".
    pub how: String,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub component: String,
    pub old_version: String,
    pub new_version: String,
    pub pins: Vec<Pin>,
    /// Alternatives removed from the entry, with the reason.
    pub dropped: Vec<(Source, String)>,
    /// Comment lines of the entry still naming the old version.
    pub stale_comments: Vec<String>,
    /// Whether sources.lock was written (false with --dry-run).
    pub written: bool,
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    let env = Env {
        root: &ws.root,
        cache: &ws.distfiles,
        mirrors: &ws.mirrors,
        tune: |_| {},
    };
    let outcome = bump(
        &env,
        &args.component,
        &args.version,
        args.allow_unsigned,
        ws.dry_run,
    )
    .with_context(|| format!("bump {} {}", args.component, args.version))?;
    print(&outcome);
    Ok(())
}

/// Bump `name` to `version` in `env.root/sources.lock`.
pub fn bump(
    env: &Env,
    name: &str,
    version: &str,
    allow_unsigned: bool,
    dry_run: bool,
) -> Result<Outcome> {
    let lock_path = env.root.join(LOCK_FILE);
    let text = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("{lock_path}: cannot read the source lock"))?;
    let lock = Lock::parse(&text).with_context(|| format!("{lock_path}: invalid source lock"))?;
    let comp = lock.get(name)?;
    let planned = derive::plan(name, comp, version, allow_unsigned)?;

    // A fresh staging cache: nothing from an earlier failed attempt is
    // reused, and nothing of this one survives a failure.
    let staging = env.cache.join(format!(".bump-{name}-{version}.partial"));
    fsutil::remove_dir_all_if_exists(&staging)?;
    std::fs::create_dir_all(&staging).with_context(|| format!("cannot create {staging}"))?;
    let result = (|| {
        let fetched = fetch_all(env, &staging, name, version, &planned)?;
        finish(
            env, &lock_path, &text, name, comp, version, planned, fetched, dry_run, &staging,
        )
    })();
    fsutil::remove_dir_all_if_exists(&staging)?;
    result
}

/// A verified new file: where it is in staging, its sha256, who signed it.
struct Got {
    index: usize,
    source: Source,
    sha256: String,
    origin: String,
    signer: Option<String>,
}

fn fetch_all(
    env: &Env,
    staging: &Utf8Path,
    name: &str,
    version: &str,
    planned: &[derive::Planned],
) -> Result<Vec<Got>> {
    let mut ctx = Ctx::with(env.root, staging, env.mirrors, Mode::Fetch)?;
    ctx.apt = false;
    (env.tune)(&mut ctx);
    let comp_of = |src: &Source| crate::lock::Component {
        version: version.to_owned(),
        license: String::new(),
        dir: None,
        optional: false,
        source: vec![src.clone()],
    };
    let mut got = Vec::new();
    for p in planned {
        let (Action::Verify(src) | Action::TrustOnFirstUse(src)) = &p.action else {
            continue;
        };
        let row = match ctx.fetch_source(&comp_of(src), 0, src) {
            Ok(Ok(row)) => row,
            Ok(Err(missing)) => bail!(
                "cannot get {} (source #{}): {}\n  Nothing was changed. Check the network and \
                 that {name} {version} exists upstream, or put the file and its signature into \
                 a mirror folder (--mirror DIR or GEN_KEXEC_MIRROR).",
                src.file,
                p.index + 1,
                missing.0
            ),
            Err(e) => {
                return Err(e.context(format!(
                    "refusing to bump {name} to {version}: {} did not verify; sources.lock \
                     is unchanged",
                    src.file
                )))
            }
        };
        let fetched = row.fetched.expect("a found row has a file");
        if matches!(p.action, Action::Verify(_)) && row.signer.is_none() {
            bail!("{}: the signature was not checked; refusing", src.file);
        }
        got.push(Got {
            index: p.index,
            source: src.clone(),
            sha256: fetched.sha256,
            origin: row.origin,
            signer: row.signer,
        });
    }
    Ok(got)
}

#[allow(clippy::too_many_arguments)]
fn finish(
    env: &Env,
    lock_path: &Utf8Path,
    text: &str,
    name: &str,
    comp: &crate::lock::Component,
    version: &str,
    planned: Vec<derive::Planned>,
    got: Vec<Got>,
    dry_run: bool,
    staging: &Utf8Path,
) -> Result<Outcome> {
    let mut pins = Vec::new();
    let mut kept = Vec::new();
    for g in &got {
        let mut new = g.source.clone();
        new.sha256 = Some(g.sha256.clone());
        let how = match (&g.signer, &new.signature) {
            (Some(fpr), Some(sig)) => {
                let over = match sig.covers {
                    Covers::File => "over the file",
                    Covers::UncompressedTar => "over the uncompressed tar",
                    Covers::Digests => "listing the file's SHA512, which matched",
                };
                new.sha256_origin = Some(format!(
                    "computed by `cargo xtask bump` after verifying the OpenPGP signature \
                     {} ({over}) by {fpr}",
                    sig.file
                ));
                format!("signature ok by {fpr}")
            }
            _ => {
                // Never a path of this machine in the lock.
                let from = if g.origin.starts_with("http") {
                    format!("downloaded from {}", g.origin)
                } else {
                    "taken from a local mirror folder".to_owned()
                };
                new.sha256_origin = Some(format!(
                    "trust on first use: {from} by `cargo xtask bump --allow-unsigned`, \
                     no signature checked"
                ));
                "trust on first use (no signature)".to_owned()
            }
        };
        if let Some(sig) = new.signature.as_mut() {
            let old_pins_sig = comp.source[g.index]
                .signature
                .as_ref()
                .is_some_and(|s| s.sha256.is_some());
            if old_pins_sig {
                let sig_path = staging.join(&sig.file);
                let sig_path = if sig_path.is_file() {
                    sig_path
                } else {
                    find_in_mirrors(env, &sig.file)?
                };
                sig.sha256 = Some(crate::stamp::sha256_file(&sig_path)?);
            }
        }
        pins.push(Pin {
            old: comp.source[g.index].clone(),
            new: new.clone(),
            how,
        });
        kept.push((g.index, new));
    }
    let dropped: Vec<(Source, String)> = planned
        .into_iter()
        .filter_map(|p| match p.action {
            Action::Drop(why) => Some((p.old, why)),
            _ => None,
        })
        .collect();
    let entry = edit::NewEntry {
        version: version.to_owned(),
        dir: derive::new_dir(comp, version),
        sources: kept,
    };
    let new_text = edit::rewrite(text, name, &entry)
        .with_context(|| format!("{lock_path}: cannot rewrite [component.{name}]"))?;
    Lock::parse(&new_text).context("the rewritten sources.lock does not validate (a bug)")?;
    let stale_comments = edit::stale_comments(&new_text, name, &comp.version);
    if !dry_run {
        // Verified files go into the cache first: the new lock finds them.
        for g in &got {
            keep_in_cache(env, staging, &g.source)?;
        }
        fsutil::write_atomic(lock_path, new_text.as_bytes())?;
    }
    Ok(Outcome {
        component: name.to_owned(),
        old_version: comp.version.clone(),
        new_version: version.to_owned(),
        pins,
        dropped,
        stale_comments,
        written: !dry_run,
    })
}

/// Move a verified file (and its signature) from staging into the cache;
/// files found in a mirror stay there.
fn keep_in_cache(env: &Env, staging: &Utf8Path, src: &Source) -> Result<()> {
    let mut names = vec![src.file.clone()];
    names.extend(src.signature.as_ref().map(|s| s.file.clone()));
    for file in names {
        let from = staging.join(&file);
        if from.is_file() {
            std::fs::create_dir_all(env.cache)
                .with_context(|| format!("cannot create {}", env.cache))?;
            fsutil::rename(&from, &env.cache.join(&file))?;
        }
    }
    Ok(())
}

fn find_in_mirrors(env: &Env, file: &str) -> Result<Utf8PathBuf> {
    env.mirrors
        .iter()
        .map(|m| m.join(file))
        .find(|p| p.is_file())
        .with_context(|| format!("{file}: the verified signature file is gone"))
}

fn print(o: &Outcome) {
    println!("{}: {} -> {}", o.component, o.old_version, o.new_version);
    for p in &o.pins {
        println!("  {}", p.old.file);
        println!(
            "    old: sha256 {}",
            p.old
                .sha256
                .as_deref()
                .unwrap_or("(none: pinned by its signature)")
        );
        println!("  {}", p.new.file);
        println!(
            "    new: sha256 {}  ({})",
            p.new.sha256.as_deref().unwrap_or("?"),
            p.how
        );
    }
    for (src, why) in &o.dropped {
        println!("  {}: removed from the entry: {why}", src.file);
    }
    for line in &o.stale_comments {
        println!("  note: this comment still names {}: {line}", o.old_version);
    }
    if o.written {
        println!("sources.lock updated; review it with `git diff sources.lock`");
    } else {
        println!("--dry-run: sources.lock not written");
    }
}

#[cfg(test)]
mod tests;
