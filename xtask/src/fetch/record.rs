//! The `.verified` record in the download cache: what was hashed and checked
//! already, so that a fully cached `fetch` does not rehash 150 MB each run.
//!
//! A file's sha256 is remembered with the file's identity (device, inode,
//! size, mtime and ctime, all in nanoseconds): any write, replacement or
//! touch changes the identity and the file is hashed again. A verified
//! signature is remembered under a key made of the sha256 of everything the
//! check depended on (data, signature file, keyring, signers, mode), so it is
//! content-addressed. The record lives only in the cache, never in mirrors
//! (they are read-only); a lost or garbled record only costs a rehash.
//! `cargo xtask verify` ignores it and rehashes everything.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

pub const RECORD_FILE: &str = ".verified";

/// What makes a file "the same file" without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl FileId {
    pub fn of(path: &Utf8Path) -> Result<FileId> {
        let m = std::fs::metadata(path).with_context(|| format!("cannot stat {path}"))?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
        })
    }
}

#[derive(Debug, Default)]
pub struct Record {
    file: Utf8PathBuf,
    hashes: HashMap<Utf8PathBuf, (FileId, String)>,
    signatures: HashMap<String, String>,
    dirty: bool,
}

impl Record {
    /// The record of the cache `dir` (empty if it has none or it is garbled).
    pub fn load(dir: &Utf8Path) -> Record {
        let file = dir.join(RECORD_FILE);
        let mut record = Record {
            file,
            ..Record::default()
        };
        let Ok(text) = std::fs::read_to_string(&record.file) else {
            return record;
        };
        for line in text.lines() {
            let f: Vec<&str> = line.splitn(8, ' ').collect();
            match f.as_slice() {
                ["file", sha, dev, ino, size, mtime, ctime, path] => {
                    let id = (|| {
                        Some(FileId {
                            dev: dev.parse().ok()?,
                            ino: ino.parse().ok()?,
                            size: size.parse().ok()?,
                            mtime_ns: mtime.parse().ok()?,
                            ctime_ns: ctime.parse().ok()?,
                        })
                    })();
                    if let Some(id) = id {
                        record
                            .hashes
                            .insert(Utf8PathBuf::from(*path), (id, (*sha).to_owned()));
                    }
                }
                ["sig", key, fpr] => {
                    record
                        .signatures
                        .insert((*key).to_owned(), (*fpr).to_owned());
                }
                _ => {} // unknown or garbled line: forget it
            }
        }
        record
    }

    /// The remembered sha256 of `path` if the file is unchanged since.
    pub fn sha256(&self, path: &Utf8Path, id: FileId) -> Option<&str> {
        match self.hashes.get(path) {
            Some((known, sha)) if *known == id => Some(sha),
            _ => None,
        }
    }

    pub fn remember_sha256(&mut self, path: &Utf8Path, id: FileId, sha256: &str) {
        self.hashes.insert(path.to_owned(), (id, sha256.to_owned()));
        self.dirty = true;
    }

    pub fn forget(&mut self, path: &Utf8Path) {
        self.dirty |= self.hashes.remove(path).is_some();
    }

    /// The signer's fingerprint of a signature check done before.
    pub fn signature(&self, key: &str) -> Option<&str> {
        self.signatures.get(key).map(String::as_str)
    }

    pub fn remember_signature(&mut self, key: &str, fingerprint: &str) {
        self.signatures
            .insert(key.to_owned(), fingerprint.to_owned());
        self.dirty = true;
    }

    /// Write the record back if it changed. Entries for files that no
    /// longer exist are dropped. Each writer uses its own temporary name, so
    /// concurrent fetches cannot interleave; the last rename wins.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut text = String::new();
        let mut hashes: Vec<_> = self.hashes.iter().collect();
        hashes.sort_by(|a, b| a.0.cmp(b.0));
        for (path, (id, sha)) in hashes {
            if path.exists() && !path.as_str().contains('\n') {
                text += &format!(
                    "file {sha} {} {} {} {} {} {path}\n",
                    id.dev, id.ino, id.size, id.mtime_ns, id.ctime_ns
                );
            }
        }
        let mut sigs: Vec<_> = self.signatures.iter().collect();
        sigs.sort();
        for (key, fpr) in sigs {
            text += &format!("sig {key} {fpr}\n");
        }
        if text.is_empty() && !self.file.exists() {
            // Nothing verified (e.g. every file was rejected): leave no
            // trace in a cache that had none.
            self.dirty = false;
            return Ok(());
        }
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = Utf8PathBuf::from(format!(
            "{}.{}-{}.tmp",
            self.file,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
        }
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {tmp}"))?;
        std::fs::rename(&tmp, &self.file)
            .with_context(|| format!("cannot rename {tmp} to {}", self.file))?;
        self.dirty = false;
        Ok(())
    }
}
