//! The table `fetch` and `verify` end with: one row per file.

use super::ctx::Hashed;
use super::locate::Located;
use super::Fetched;
use crate::lock::{Component, Source};

/// The sha256 column of a file whose hash was taken by an earlier run.
pub const UNCHANGED: &str = "ok (unchanged)";

/// What the OpenPGP check said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigStatus {
    /// Verified; made by this (pinned) certificate.
    Ok(String),
    /// The lock names no signature for this source.
    None,
    /// The lock names one but the signature file is not at hand.
    NotAvailable,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub component: String,
    pub version: String,
    pub file: String,
    pub origin: String,
    /// "ok" (hashed now), [`UNCHANGED`], "FAILED", "-" (not present), or
    /// "not pinned" (verified by its signature).
    pub sha256: String,
    pub signature: String,
    /// The pinned certificate whose signature verified (`cargo xtask bump`
    /// records it as the sha256's provenance).
    pub signer: Option<String>,
    pub fetched: Option<Fetched>,
    /// Set when the lock pins no sha256 and the signature vouched instead.
    pub unpinned: bool,
}

impl Row {
    pub fn found(
        comp: &Component,
        src: &Source,
        index: usize,
        found: Located,
        sig: SigStatus,
    ) -> Row {
        Row {
            component: String::new(),
            version: comp.version.clone(),
            file: src.file.clone(),
            origin: match &found.origin {
                super::Origin::Mirror(_) => format!("mirror {}", found.path),
                o => o.to_string(),
            },
            sha256: match (src.sha256.is_some(), found.hashed) {
                (true, Hashed::Now) => "ok",
                (true, Hashed::Earlier) => UNCHANGED,
                (false, _) => "not pinned",
            }
            .to_owned(),
            signer: match &sig {
                SigStatus::Ok(fpr) => Some(fpr.clone()),
                _ => None,
            },
            signature: match &sig {
                SigStatus::Ok(fpr) => format!("ok ({fpr})"),
                SigStatus::None => "none".to_owned(),
                SigStatus::NotAvailable => "not available".to_owned(),
            },
            unpinned: src.sha256.is_none(),
            fetched: Some(Fetched {
                path: found.path,
                sha256: found.sha256,
                source_index: index,
            }),
        }
    }

    pub fn failed(name: &str, comp: &Component) -> Row {
        Row {
            component: name.to_owned(),
            version: comp.version.clone(),
            file: "-".to_owned(),
            origin: "-".to_owned(),
            sha256: "FAILED".to_owned(),
            signature: "-".to_owned(),
            signer: None,
            fetched: None,
            unpinned: false,
        }
    }

    pub fn missing(name: &str, comp: &Component, src: &Source) -> Row {
        Row {
            origin: "not present".to_owned(),
            sha256: "-".to_owned(),
            ..Row::failed(name, comp).file(&src.file)
        }
    }

    pub fn named(mut self, name: &str) -> Row {
        self.component = name.to_owned();
        self
    }

    pub fn file(mut self, file: &str) -> Row {
        self.file = file.to_owned();
        self
    }

    /// A source pinned only by its signature: show the sha256 to record.
    pub fn note_unpinned(&self, name: &str) {
        if let (true, Some(f)) = (self.unpinned, &self.fetched) {
            eprintln!(
                "note: {name}: {} is pinned by its signature only; its sha256 is\n  {}\n\
                 record it as `sha256 = \"{}\"` in sources.lock",
                self.file, f.sha256, f.sha256
            );
        }
    }
}

pub fn print_table(rows: &[Row]) {
    let header = [
        "component",
        "version",
        "file",
        "origin",
        "sha256",
        "signature",
    ];
    let cells: Vec<[&str; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.component.as_str(),
                &r.version,
                &r.file,
                &r.origin,
                &r.sha256,
                &r.signature,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let line = |row: &[&str; 6]| {
        let cols: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", cols.join("  ").trim_end());
    };
    line(&header);
    let dashes = widths.map(|w| "-".repeat(w));
    line(&std::array::from_fn(|i| dashes[i].as_str()));
    for row in &cells {
        line(row);
    }
    if rows.iter().any(|r| r.sha256 == UNCHANGED) {
        println!(
            "{UNCHANGED}: hashed by an earlier run, and the file has the same device, inode, \
             size, mtime and ctime since.\n  `cargo xtask verify` rehashes every file; \
             unpacking a tarball hashes the bytes it unpacks."
        );
    }
}

/// Where each pinned sha256 of the components `names` comes from
/// (`sha256_origin` in the lock).
pub fn print_provenance(lock: &crate::lock::Lock, names: &[String]) {
    println!("\nwhere the pinned sha256s come from:");
    for (name, comp) in lock.component.iter().filter(|(n, _)| names.contains(n)) {
        for src in &comp.source {
            let from = match (&src.sha256, &src.sha256_origin) {
                (Some(_), Some(origin)) => origin.as_str(),
                (Some(_), None) => "(not recorded in sources.lock)",
                (None, _) => "no sha256 pinned: its OpenPGP signature vouches for it",
            };
            println!("  {name} {}: {from}", src.file);
        }
    }
}
