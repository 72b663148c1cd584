//! `cargo xtask fetch` and `cargo xtask verify`: every pinned source, found
//! or downloaded, and verified.
//!
//! For each component the lock's source alternatives are tried in order.
//! A file is looked up by sha256 in the download cache and the read-only
//! mirrors (`locate`), else downloaded into the cache (`http`, with retries
//! and resume), else taken from `apt-get source` (`apt`). Every file's
//! sha256 is checked; a detached OpenPGP signature is checked too whenever
//! the lock names one and the signature file is at hand (`openpgp`), and is
//! required when the lock pins no sha256. Nothing enters the cache before it
//! verified. Other stages call `ensure` to get a verified tarball.
//!
//! What each command guarantees:
//! - `fetch` / `ensure`: every file has its pinned sha256 (and a valid
//!   signature by a pinned signer when the signature is at hand), where a
//!   file hashed by an earlier run counts as checked while its device,
//!   inode, size, mtime and ctime are unchanged (`record`; the table says
//!   "ok (unchanged)"). Any write through the filesystem changes the ctime,
//!   which no user can set; what bypasses it (a raw-disk write, bit rot)
//!   is not seen here. That keeps a fully cached `fetch` well under 1 s.
//! - `verify`: rehashes every file and rechecks every signature, trusting
//!   no record; a bad file in the cache is deleted.
//! - unpacking ([`crate::extract::unpack`]) hashes the very bytes it
//!   unpacks and compares them with [`Fetched::sha256`]: no source tree is
//!   ever made from anything but the pinned tarball, whatever the record said.

mod apt;
mod ctx;
pub(crate) mod digests;
mod http;
mod locate;
mod openpgp;
mod record;
mod report;

use anyhow::{bail, Result};
use camino::Utf8PathBuf;

use crate::lock::Lock;
use crate::ws::Ws;
pub use ctx::{mismatch_error, Ctx, Mode};
use report::Row;

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Components [default: every one in sources.lock not marked `optional`].
    pub components: Vec<String>,
}

/// A verified source tarball.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it is: in the cache or in a mirror (read-only: never modify).
    pub path: Utf8PathBuf,
    /// Its sha256 (lower-case hex): the lock's pin, or for a source pinned
    /// by its signature alone, the hash of the file that verified. Pass it
    /// to [`crate::extract::unpack`], which checks it on the bytes it reads.
    pub sha256: String,
    /// Which `[[component.NAME.source]]` alternative it is (0-based).
    pub source_index: usize,
}

/// Where a file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Mirror(Utf8PathBuf),
    Url(String),
    Apt(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Cache => write!(f, "cache"),
            Origin::Mirror(dir) => write!(f, "mirror {dir}"),
            Origin::Url(url) => write!(f, "{url}"),
            Origin::Apt(pkg) => write!(f, "apt-get source {pkg}"),
        }
    }
}

/// A verified tarball for `component`: from the cache, a mirror, a download
/// or `apt-get source`. Quick when it was verified before.
pub fn ensure(ws: &Ws, component: &str) -> Result<Fetched> {
    let lock = ws.lock()?;
    let comp = lock.get(component)?;
    let ctx = Ctx::new(ws, Mode::Fetch)?;
    let result = ctx.fetch_component(component, comp);
    ctx.save_record()?;
    // No context of our own: every caller names what it fetched for (the
    // plan's `musl: fetch`, `manifest: source of musl`, ...), and the error
    // names the file and each place tried.
    let row = result?;
    row.note_unpinned(component);
    Ok(row.fetched.expect("a successful row has a file"))
}

/// `cargo xtask fetch [COMPONENT...]`.
pub fn run(ws: &Ws, args: &FetchArgs) -> Result<()> {
    let lock = ws.lock()?;
    let names = selected(lock, &args.components, "fetch")?;
    let ctx = Ctx::new(ws, Mode::Fetch)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for name in &names {
        let comp = lock.get(name)?;
        match ctx.fetch_component(name, comp) {
            Ok(row) => rows.push(row),
            Err(e) => {
                rows.push(Row::failed(name, comp));
                errors.push(e.context(format!("{name}: fetch failed")));
            }
        }
    }
    ctx.save_record()?;
    report::print_table(&rows);
    for (row, name) in rows.iter().zip(&names) {
        row.note_unpinned(name);
    }
    finish("fetch", errors, names.len())
}

/// The components a `fetch` or `verify` works on: the ones named (each must
/// be in the lock), else every component not marked `optional` (and a note
/// says which were left out and how to include them).
pub fn selected(lock: &Lock, asked: &[String], command: &str) -> Result<Vec<String>> {
    if !asked.is_empty() {
        for name in asked {
            lock.get(name)?;
        }
        return Ok(asked.to_vec());
    }
    let optional = lock.optional_names();
    if !optional.is_empty() {
        eprintln!(
            "note: optional component(s) left out: {}; name them to include them \
             (`cargo xtask {command} {}`)",
            optional.join(", "),
            optional.join(" ")
        );
    }
    Ok(lock.required().map(|(name, _)| name.clone()).collect())
}

/// `cargo xtask verify [COMPONENT...]`: rehash every source alternative
/// present in the cache and mirrors and check its signature again, trusting
/// no earlier result.
pub fn verify(ws: &Ws, args: &FetchArgs) -> Result<()> {
    let lock = ws.lock()?;
    let names = selected(lock, &args.components, "verify")?;
    let ctx = Ctx::new(ws, Mode::Verify)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for name in &names {
        let comp = lock.get(name)?;
        let mut present = false;
        for (i, src) in comp.source.iter().enumerate() {
            match ctx.fetch_source(comp, i, src) {
                Ok(Ok(row)) => {
                    present = true;
                    rows.push(row.named(name));
                }
                Ok(Err(_)) => rows.push(Row::missing(name, comp, src)),
                Err(e) => {
                    rows.push(Row::failed(name, comp).file(&src.file));
                    errors.push(e.context(format!("{name}: {}", src.file)));
                }
            }
        }
        if !present {
            errors.push(anyhow::anyhow!(
                "{name}: no source alternative is in the cache ({}) or a mirror: run `cargo xtask fetch {name}`",
                ctx.cache
            ));
        }
    }
    ctx.save_record()?;
    report::print_table(&rows);
    report::print_provenance(lock, &names);
    finish("verify", errors, names.len())
}

fn finish(what: &str, errors: Vec<anyhow::Error>, total: usize) -> Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    for e in &errors {
        eprintln!("\nerror: {e:#}");
    }
    bail!(
        "{what}: {} problem(s) with {total} component(s), see above",
        errors.len()
    )
}

#[cfg(test)]
mod tests;
