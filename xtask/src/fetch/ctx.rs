//! The lookup context and the per-source logic: find, else download or
//! apt-get, check sha256 and signature, move into the cache.

use std::cell::RefCell;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::record::{FileId, Record};
use super::report::{Row, SigStatus};
use super::{apt, digests, http, locate, openpgp, Origin};
use crate::fsutil;
use crate::lock::{Component, Covers, Source};
use crate::ws::Ws;

/// What a file must hash to, and where that pin comes from (shown when a
/// file does not match, so a human can judge whether the lock is wrong).
#[derive(Debug, Clone, Copy)]
pub struct Pin<'a> {
    pub sha256: &'a str,
    pub provenance: Option<&'a str>,
}

impl<'a> Pin<'a> {
    /// The pin of a source alternative, if the lock has one.
    pub fn of(src: &'a Source) -> Option<Pin<'a>> {
        Some(Pin {
            sha256: src.sha256.as_deref()?,
            provenance: src.sha256_origin.as_deref(),
        })
    }

    /// A bare sha256 (a signature file's).
    pub fn sha256(sha256: Option<&'a str>) -> Option<Pin<'a>> {
        Some(Pin {
            sha256: sha256?,
            provenance: None,
        })
    }
}

/// Whether a sha256 was computed now or remembered from an earlier run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashed {
    Now,
    /// From the record: the file is unchanged since (see `record`).
    Earlier,
}

/// Why a source alternative cannot be had: not an error by itself, the
/// next alternative may do.
#[derive(Debug)]
pub struct Missing(pub String);

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
    /// The Debian archive `apt-get source` uses (a private apt config).
    pub debian: apt::Archive,
    pub(super) record: RefCell<Record>,
}

impl<'a> Ctx<'a> {
    pub fn new(ws: &'a Ws, mode: Mode) -> Result<Ctx<'a>> {
        Ctx::with(&ws.root, &ws.distfiles, &ws.mirrors, mode)
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
            debian: apt::Archive::default(),
            record: RefCell::new(Record::load(cache)),
        })
    }

    /// The first source alternative of `comp` that can be had and verifies.
    /// A file that fails verification stops the search: it needs a human.
    pub fn fetch_component(&self, name: &str, comp: &Component) -> Result<Row> {
        let mut misses = Vec::new();
        for (i, src) in comp.source.iter().enumerate() {
            match self.fetch_source(comp, i, src)? {
                Ok(row) => return Ok(row.named(name)),
                Err(Missing(why)) => misses.push(format!("source #{} {}: {why}", i + 1, src.file)),
            }
        }
        bail!(
            "no source alternative could be found or downloaded:\n  {}\n\
             Put the file into a mirror folder (--mirror DIR or GEN_KEXEC_MIRROR) or check the network.",
            misses.join("\n  ")
        )
    }

    /// One source alternative, or why it cannot be had. `Err` is for files
    /// that failed verification and for I/O trouble.
    pub fn fetch_source(
        &self,
        comp: &Component,
        index: usize,
        src: &Source,
    ) -> Result<Result<Row, Missing>> {
        if let Some(found) = locate::find(self, src)? {
            let sig = match self.signature(src, &found.path, &found.sha256)? {
                Ok(sig) => sig,
                Err(missing) => return Ok(Err(missing)),
            };
            return Ok(Ok(Row::found(comp, src, index, found, sig)));
        }
        if self.mode == Mode::Verify {
            return Ok(Err(Missing("not in the cache or a mirror".to_owned())));
        }
        let got = match self.obtain(src)? {
            Ok(got) => got,
            Err(missing) => return Ok(Err(missing)),
        };
        // Checked like a found file, then moved into the cache.
        let checked = self.signature(src, &got.partial, &got.sha256);
        if !matches!(checked, Ok(Ok(_))) {
            let _ = std::fs::remove_file(&got.partial);
        }
        let sig = match checked? {
            Ok(sig) => sig,
            Err(missing) => return Ok(Err(missing)),
        };
        let path = self.cache.join(&src.file);
        fsutil::rename(&got.partial, &path)?;
        self.sha256(&path)?; // remember it
        let found = locate::Located {
            path,
            sha256: got.sha256,
            origin: got.origin,
            hashed: Hashed::Now,
        };
        Ok(Ok(Row::found(comp, src, index, found, sig)))
    }

    /// Download `src`, else get it from apt. Only wrong files are errors.
    fn obtain(&self, src: &Source) -> Result<Result<http::Downloaded, Missing>> {
        let mut failures = vec!["not in the cache or a mirror".to_owned()];
        if !src.urls.is_empty() {
            match http::download(self, &src.file, &src.urls, Pin::of(src)) {
                Ok(got) => return Ok(Ok(got)),
                Err(f) => failures.extend(f),
            }
        }
        if let (Some(debian), true) = (&src.debian, self.apt) {
            if apt::available() {
                match apt::source(self, src, debian) {
                    Ok(got) => return Ok(Ok(got)),
                    Err(e) => failures.push(format!("{e:#}")),
                }
            } else {
                failures.push(format!("apt-get source {debian}: apt-get is not installed"));
            }
        }
        if failures.iter().any(|f| f.contains("sha256 mismatch")) {
            bail!(
                "{}: no download was right:\n  {}",
                src.file,
                failures.join("\n  ")
            );
        }
        Ok(Err(Missing(failures.join("\n    "))))
    }

    /// The OpenPGP check of `src` (a file already sha256-checked if the lock
    /// pins one). `Missing` when the lock pins no sha256 and the signature
    /// is not at hand: then nothing vouches for the file.
    fn signature(
        &self,
        src: &Source,
        data: &Utf8Path,
        data_sha256: &str,
    ) -> Result<Result<SigStatus, Missing>> {
        let Some(sig) = &src.signature else {
            return Ok(Ok(SigStatus::None));
        };
        let mut failures = Vec::new();
        let mut sig_file = locate::find_named(self, &sig.file, sig.sha256.as_deref())?;
        // Go online for a signature only when it is required or the data
        // itself came from the network: a fully cached fetch stays offline.
        let online = self.mode == Mode::Fetch
            && (src.sha256.is_none() || data.as_str().ends_with(".partial"));
        if sig_file.is_none() && online && !sig.urls.is_empty() {
            match http::download(
                self,
                &sig.file,
                &sig.urls,
                Pin::sha256(sig.sha256.as_deref()),
            ) {
                Ok(got) => {
                    let path = self.cache.join(&sig.file);
                    fsutil::rename(&got.partial, &path)?;
                    sig_file = Some(locate::Located {
                        path,
                        sha256: got.sha256,
                        origin: got.origin,
                        hashed: Hashed::Now,
                    });
                }
                Err(f) => failures = f,
            }
        }
        let Some(sig_file) = sig_file else {
            if src.sha256.is_none() {
                return Ok(Err(Missing(format!(
                    "found, but the lock pins no sha256 and the signature {} is not at hand{}{}",
                    sig.file,
                    if failures.is_empty() { "" } else { ":\n    " },
                    failures.join("\n    ")
                ))));
            }
            if !failures.is_empty() {
                eprintln!(
                    "note: {}: signature not available:\n  {}",
                    sig.file,
                    failures.join("\n  ")
                );
            }
            return Ok(Ok(SigStatus::NotAvailable));
        };
        let key = self.signature_key(src, data_sha256, &sig_file.sha256)?;
        if self.mode == Mode::Fetch {
            if let Some(fpr) = self.record.borrow().signature(&key) {
                return Ok(Ok(SigStatus::Ok(fpr.to_owned())));
            }
        }
        let pinned = src.sha256.is_some();
        let fpr = match sig.covers {
            Covers::Digests => {
                digests::verify(self.root, sig, &src.file, data, &sig_file.path, pinned)
            }
            Covers::File | Covers::UncompressedTar => {
                openpgp::verify(self.root, sig, data, &sig_file.path, pinned)
            }
        }
        .with_context(|| format!("{}: signature check", src.file))?;
        self.record.borrow_mut().remember_signature(&key, &fpr);
        Ok(Ok(SigStatus::Ok(fpr)))
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

    /// Write back what this context learnt (see `record`).
    pub fn save_record(&self) -> Result<()> {
        self.record.borrow_mut().save()
    }

    /// The sha256 of `path`, from the record when the file is unchanged
    /// (fetch mode), else computed and remembered.
    pub fn sha256(&self, path: &Utf8Path) -> Result<(String, Hashed)> {
        let id = FileId::of(path)?;
        if self.mode == Mode::Fetch {
            if let Some(sha) = self.record.borrow().sha256(path, id) {
                return Ok((sha.to_owned(), Hashed::Earlier));
            }
        }
        let sha = crate::stamp::sha256_file(path)?;
        self.record.borrow_mut().remember_sha256(path, id, &sha);
        Ok((sha, Hashed::Now))
    }

    /// A file that does not match its pin: forget its hash, and delete it
    /// if it is in the cache (a mirror is read-only: left alone).
    pub fn reject(&self, path: &Utf8Path, origin: &Origin) -> Result<()> {
        self.record.borrow_mut().forget(path);
        if *origin != Origin::Cache {
            return Ok(());
        }
        assert!(path.starts_with(self.cache), "{path} is not in the cache");
        std::fs::remove_file(path).with_context(|| format!("cannot delete the bad file {path}"))
    }
}

/// The error for a file whose sha256 is not the pinned one.
pub fn mismatch_error(path: &Utf8Path, pin: Pin, actual: &str, origin: &Origin) -> anyhow::Error {
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
    let from = match pin.provenance {
        Some(p) => format!("sources.lock; pinned from: {p}"),
        None => "sources.lock".to_owned(),
    };
    anyhow::anyhow!(
        "sha256 mismatch for {path}\n  expected {} ({from})\n  actual   {actual}\n  likely cause: {cause}",
        pin.sha256
    )
}
