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

mod apt;
mod http;
mod locate;
mod openpgp;
mod record;
mod report;

use std::cell::RefCell;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::fsutil;
use crate::lock::{Component, Source};
use crate::ws::Ws;
use record::{FileId, Record};
use report::{Row, SigStatus};

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Components to fetch [default: all in sources.lock].
    pub components: Vec<String>,
}

/// A verified source tarball.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it is: in the cache or in a mirror (read-only: never modify).
    pub path: Utf8PathBuf,
    /// Its sha256 (lower-case hex).
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
    ctx.record.borrow_mut().save()?;
    let row = result.with_context(|| format!("{component}: fetch"))?;
    row.note_unpinned(component);
    Ok(row.fetched.expect("a successful row has a file"))
}

/// `cargo xtask fetch [COMPONENT...]`.
pub fn run(ws: &Ws, args: &FetchArgs) -> Result<()> {
    let lock = ws.lock()?;
    let names: Vec<String> = if args.components.is_empty() {
        lock.component.keys().cloned().collect()
    } else {
        args.components.clone()
    };
    for name in &names {
        lock.get(name)?;
    }
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
    ctx.record.borrow_mut().save()?;
    report::print_table(&rows);
    for (row, name) in rows.iter().zip(&names) {
        row.note_unpinned(name);
    }
    finish("fetch", errors, names.len())
}

/// `cargo xtask verify`: rehash every source alternative present in the cache
/// and mirrors and check its signature again, trusting no earlier result.
pub fn verify(ws: &Ws) -> Result<()> {
    let lock = ws.lock()?;
    let ctx = Ctx::new(ws, Mode::Verify)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (name, comp) in &lock.component {
        let mut present = false;
        for (i, src) in comp.source.iter().enumerate() {
            match ctx.fetch_source(comp, i, src) {
                Ok(Some(row)) => {
                    present = true;
                    rows.push(row.named(name));
                }
                Ok(None) => rows.push(Row::missing(name, comp, src)),
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
    ctx.record.borrow_mut().save()?;
    report::print_table(&rows);
    finish("verify", errors, lock.component.len())
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Use the record of earlier checks; download what is missing.
    Fetch,
    /// Rehash everything; never download.
    Verify,
}

/// Everything a lookup needs, independent of `Ws` so tests can build one.
pub struct Ctx<'a> {
    /// Where `keys/...` keyrings are (the workspace root).
    pub root: &'a Utf8Path,
    pub cache: &'a Utf8Path,
    pub mirrors: &'a [Utf8PathBuf],
    pub mode: Mode,
    /// Try `apt-get source` as a last resort (off in tests).
    pub apt: bool,
    /// Network settings (retries, timeouts); tests shorten them.
    pub http: http::Settings,
    record: RefCell<Record>,
}

impl<'a> Ctx<'a> {
    pub fn new(ws: &'a Ws, mode: Mode) -> Result<Ctx<'a>> {
        Ok(Ctx::with(&ws.root, &ws.distfiles, &ws.mirrors, mode)?)
    }

    pub fn with(
        root: &'a Utf8Path,
        cache: &'a Utf8Path,
        mirrors: &'a [Utf8PathBuf],
        mode: Mode,
    ) -> Result<Ctx<'a>> {
        locate::check_mirrors(mirrors)?;
        Ok(Ctx {
            root,
            cache,
            mirrors,
            mode,
            apt: true,
            http: http::Settings::default(),
            record: RefCell::new(Record::load(cache)),
        })
    }

    /// The first source alternative of `comp` that can be had and verifies.
    /// A file that fails verification stops the search: it needs a human.
    pub fn fetch_component(&self, name: &str, comp: &Component) -> Result<Row> {
        let mut misses = Vec::new();
        for (i, src) in comp.source.iter().enumerate() {
            match self.fetch_source(comp, i, src)? {
                Some(row) => return Ok(row.named(name)),
                None => misses.push(format!("source #{} {}: not found", i + 1, src.file)),
            }
        }
        bail!(
            "no source alternative could be found or downloaded:\n  {}\n\
             Put the file into a mirror folder (--mirror DIR or GEN_KEXEC_MIRROR) or check the network.",
            misses.join("\n  ")
        )
    }

    /// One source alternative: `None` when it is nowhere to be had.
    pub fn fetch_source(&self, comp: &Component, index: usize, src: &Source) -> Result<Option<Row>> {
        if let Some(found) = locate::find(self, src)? {
            let Some(sig) = self.signature(src, &found.path, &found.sha256)? else {
                return Ok(None); // not pinned by sha256 and no signature at hand
            };
            return Ok(Some(Row::found(comp, src, index, found, sig)));
        }
        if self.mode == Mode::Verify {
            return Ok(None);
        }
        let Some(got) = self.obtain(src)? else {
            return Ok(None);
        };
        // Checked like a found file, then moved into the cache.
        let checked = self.signature(src, &got.partial, &got.sha256);
        let sig = match checked {
            Ok(Some(sig)) => sig,
            other => {
                let _ = std::fs::remove_file(&got.partial);
                return other.map(|_| None);
            }
        };
        let path = self.cache.join(&src.file);
        fsutil::rename(&got.partial, &path)?;
        self.sha256(&path)?; // remember it
        let found = locate::Located {
            path,
            sha256: got.sha256,
            origin: got.origin,
        };
        Ok(Some(Row::found(comp, src, index, found, sig)))
    }

    /// Download `src`, else get it from apt; `None` if neither works (the
    /// reasons are printed). A wrong file is an error.
    fn obtain(&self, src: &Source) -> Result<Option<http::Downloaded>> {
        let mut failures = Vec::new();
        if !src.urls.is_empty() {
            match http::download(self, &src.file, &src.urls, src.sha256.as_deref()) {
                Ok(got) => return Ok(Some(got)),
                Err(f) => failures.extend(f),
            }
        }
        if let (Some(debian), true) = (&src.debian, self.apt) {
            if apt::available() {
                match apt::source(self, src, debian) {
                    Ok(got) => return Ok(Some(got)),
                    Err(e) => failures.push(format!("{e:#}")),
                }
            } else {
                failures.push(format!("apt-get source {debian}: apt-get is not installed"));
            }
        }
        let wrong: Vec<&String> = failures.iter().filter(|f| f.contains("sha256 mismatch")).collect();
        if !wrong.is_empty() {
            bail!("{}: every download was wrong:\n  {}", src.file, failures.join("\n  "));
        }
        eprintln!("{}: not found in the cache or a mirror, and:\n  {}", src.file, failures.join("\n  "));
        Ok(None)
    }

    /// The OpenPGP check of `src` (a file already sha256-checked if the lock
    /// pins one). `None` when the lock pins no sha256 and the signature is
    /// not at hand: then nothing vouches for the file.
    fn signature(&self, src: &Source, data: &Utf8Path, data_sha256: &str) -> Result<Option<SigStatus>> {
        let Some(sig) = &src.signature else {
            return Ok(Some(SigStatus::None));
        };
        let mut sig_file = locate::find_named(self, &sig.file, sig.sha256.as_deref())?;
        // Go online for a signature only when it is required or the data
        // itself came from the network: a fully cached fetch stays offline.
        let online = self.mode == Mode::Fetch
            && (src.sha256.is_none() || data.as_str().ends_with(".partial"));
        if sig_file.is_none() && online && !sig.urls.is_empty() {
            match http::download(self, &sig.file, &sig.urls, sig.sha256.as_deref()) {
                Ok(got) => {
                    let path = self.cache.join(&sig.file);
                    fsutil::rename(&got.partial, &path)?;
                    sig_file = Some(locate::Located { path, sha256: got.sha256, origin: got.origin });
                }
                Err(f) => eprintln!("{}: signature not available:\n  {}", sig.file, f.join("\n  ")),
            }
        }
        let Some(sig_file) = sig_file else {
            if src.sha256.is_none() {
                eprintln!(
                    "{}: the lock pins no sha256 and the signature {} is not at hand: cannot trust it",
                    src.file, sig.file
                );
                return Ok(None);
            }
            return Ok(Some(SigStatus::NotAvailable));
        };
        let key = self.signature_key(src, data_sha256, &sig_file.sha256)?;
        if self.mode == Mode::Fetch {
            if let Some(fpr) = self.record.borrow().signature(&key) {
                return Ok(Some(SigStatus::Ok(fpr.to_owned())));
            }
        }
        let fpr = openpgp::verify(self.root, sig, data, &sig_file.path, src.sha256.is_some())
            .with_context(|| format!("{}: signature check", src.file))?;
        self.record.borrow_mut().remember_signature(&key, &fpr);
        Ok(Some(SigStatus::Ok(fpr)))
    }

    /// What a signature check depends on, hashed: the record's key for it.
    fn signature_key(&self, src: &Source, data: &str, sig_sha256: &str) -> Result<String> {
        let sig = src.signature.as_ref().expect("a source with a signature");
        let keyring = crate::stamp::sha256_file(&self.root.join(&sig.keyring))?;
        let mut k = crate::stamp::KeyBuilder::default();
        k.value("data", data)
            .value("signature", sig_sha256)
            .value("keyring", &keyring)
            .value("signers", &sig.signers.join(","))
            .value("covers", &format!("{:?}", sig.covers))
            .value("sha256-pinned", &src.sha256.is_some().to_string());
        Ok(k.finish())
    }

    /// The sha256 of `path`, from the record when the file is unchanged
    /// (fetch mode), else computed and remembered.
    pub fn sha256(&self, path: &Utf8Path) -> Result<String> {
        let id = FileId::of(path)?;
        if self.mode == Mode::Fetch {
            if let Some(sha) = self.record.borrow().sha256(path, id) {
                return Ok(sha.to_owned());
            }
        }
        let sha = crate::stamp::sha256_file(path)?;
        self.record.borrow_mut().remember_sha256(path, id, &sha);
        Ok(sha)
    }

    /// Remove a bad file from the cache (never from a mirror).
    pub fn delete_from_cache(&self, path: &Utf8Path) -> Result<()> {
        assert!(path.starts_with(self.cache), "{path} is not in the cache");
        self.record.borrow_mut().forget(path);
        std::fs::remove_file(path).with_context(|| format!("cannot delete the bad file {path}"))
    }
}

/// The error for a file whose sha256 is not the pinned one.
pub fn mismatch_error(
    path: &Utf8Path,
    expected: &str,
    actual: &str,
    origin: &Origin,
) -> anyhow::Error {
    let cause = match origin {
        Origin::Cache => "the cached file was damaged or replaced after it was verified, or \
                          sources.lock is out of date. It has been deleted: run `cargo xtask fetch` again."
            .to_owned(),
        Origin::Mirror(dir) => format!(
            "the mirror {dir} holds a different, damaged or tampered file (mirrors are read-only: \
             replace the file there), or sources.lock is out of date."
        ),
        Origin::Url(url) => format!(
            "a truncated download, or {url} serves a different or tampered file, or sources.lock \
             is out of date. Nothing was kept."
        ),
        Origin::Apt(pkg) => format!(
            "`apt-get source {pkg}` gave a different file: sources.lock or the Debian coordinates \
             are out of date."
        ),
    };
    anyhow::anyhow!(
        "sha256 mismatch for {path}\n  expected {expected} (sources.lock)\n  actual   {actual}\n  likely cause: {cause}"
    )
}

#[cfg(test)]
mod tests;
