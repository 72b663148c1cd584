//! `sources.lock`: every source gen-kexec builds from, declared once.
//!
//! The file is TOML. Each `[component.NAME]` names a version and a licence
//! and lists one or more `source` alternatives in order of preference (the
//! kernel has two: Debian's orig tarball and kernel.org's). Every source is
//! pinned by sha256, by an OpenPGP signature from pinned signers, or both.
//! A component marked `optional = true` (the Gentoo minimal ISO, a kernel
//! configuration base) is left out of everything that works on "all
//! components" (`fetch`, `verify`, the release and its SBOM) and is fetched
//! only when named.
//! Parsing is strict: unknown keys, bad hex and missing fields are errors that
//! name the file, the place and what was expected.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;

pub const LOCK_FILE: &str = "sources.lock";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Format version of this file.
    pub schema: u32,
    /// Fixed timestamp for every build output (seconds since the epoch).
    pub source_date_epoch: u64,
    /// Components by name; BTreeMap keeps plans and tables in a stable order.
    pub component: BTreeMap<String, Component>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub version: String,
    /// SPDX licence expression.
    pub license: String,
    /// Top-level directory inside the tarball (e.g. `busybox-1.37.0`);
    /// absent for a file that is used as is (an ISO image).
    pub dir: Option<String>,
    /// Not part of the default build: skipped by `fetch` and `verify`
    /// without arguments and by the release; fetched when named.
    #[serde(default)]
    pub optional: bool,
    /// Alternatives in order of preference; any one of them will do.
    pub source: Vec<Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// File name in the download cache and in mirrors.
    pub file: String,
    /// Lower-case hex sha256 of `file`. May be absent only when a signature
    /// pins the source (kernel.org's tarball); `bump` records it once verified.
    pub sha256: Option<String>,
    /// Where the sha256 came from (provenance, for humans).
    pub sha256_origin: Option<String>,
    /// Upstream URLs, tried in order.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Debian source coordinates `package=version` for `apt-get source`.
    pub debian: Option<String>,
    pub signature: Option<Signature>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// File name of the detached signature.
    pub file: String,
    #[serde(default)]
    pub urls: Vec<String>,
    /// Optional sha256 of the signature file itself.
    pub sha256: Option<String>,
    /// What the signature covers.
    pub covers: Covers,
    /// Keyring (in the repository) holding the signers' public keys.
    pub keyring: Utf8PathBuf,
    /// Fingerprints (40 hex digits) accepted as signers; nothing else is.
    pub signers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Covers {
    /// The signature is over the file as downloaded.
    File,
    /// The signature is over the decompressed tar (kernel.org's `.tar.sign`).
    UncompressedTar,
    /// The signature file is an OpenPGP clearsigned list of hashes naming
    /// the file (Gentoo's `.iso.DIGESTS`): it must verify, and the file's
    /// SHA512 must be the one it lists under `# SHA512 HASH`.
    Digests,
}

impl Lock {
    pub fn load(path: &Utf8Path) -> Result<Lock> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{path}: cannot read the source lock"))?;
        Lock::parse(&text).with_context(|| format!("{path}: invalid source lock"))
    }

    pub fn parse(text: &str) -> Result<Lock> {
        let lock: Lock = toml::from_str(text)?;
        lock.validate()?;
        Ok(lock)
    }

    /// The components of the default build (not `optional`), by name.
    pub fn required(&self) -> impl Iterator<Item = (&String, &Component)> {
        self.component.iter().filter(|(_, c)| !c.optional)
    }

    /// The names of the `optional` components.
    pub fn optional_names(&self) -> Vec<&str> {
        self.component
            .iter()
            .filter(|(_, c)| c.optional)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    pub fn get(&self, name: &str) -> Result<&Component> {
        self.component.get(name).with_context(|| {
            let known: Vec<&str> = self.component.keys().map(String::as_str).collect();
            format!(
                "no component `{name}` in {LOCK_FILE}; known: {}",
                known.join(", ")
            )
        })
    }

    fn validate(&self) -> Result<()> {
        if self.schema != 1 {
            bail!(
                "schema = {}: this xtask reads schema 1; update gen-kexec",
                self.schema
            );
        }
        if self.required().next().is_none() {
            bail!("no [component.NAME] entries (other than `optional` ones)");
        }
        for (name, c) in &self.component {
            c.validate()
                .with_context(|| format!("in [component.{name}]"))?;
        }
        Ok(())
    }
}

impl Component {
    fn validate(&self) -> Result<()> {
        if self.version.trim().is_empty() {
            bail!("`version` is empty");
        }
        if self.license.trim().is_empty() {
            bail!("`license` is empty: give an SPDX expression");
        }
        match &self.dir {
            Some(dir) => plain_file_name("dir", dir)?,
            None if self.optional => {}
            None => bail!(
                "no `dir`: give the tarball's top-level directory (only an `optional` \
                 component used as is, such as an ISO image, may leave it out)"
            ),
        }
        if self.source.is_empty() {
            bail!("no [[source]] alternative: add at least one");
        }
        for (i, s) in self.source.iter().enumerate() {
            s.validate()
                .with_context(|| format!("in source #{} (`{}`)", i + 1, s.file))?;
        }
        Ok(())
    }
}

impl Source {
    fn validate(&self) -> Result<()> {
        plain_file_name("file", &self.file)?;
        if let Some(h) = &self.sha256 {
            sha256_hex("sha256", h)?;
        }
        if self.sha256.is_none() && self.signature.is_none() {
            bail!("neither `sha256` nor `signature`: a source must be pinned by at least one");
        }
        for url in &self.urls {
            url_ok(url)?;
        }
        if self.urls.is_empty() && self.debian.is_none() {
            bail!("no `urls` and no `debian`: nowhere to fetch it from");
        }
        if let Some(d) = &self.debian {
            match d.split_once('=') {
                Some((p, v)) if !p.is_empty() && !v.is_empty() && !d.contains(' ') => {}
                _ => bail!(
                    "`debian = \"{d}\"`: expected `package=version`, e.g. `busybox=1:1.37.0-6`"
                ),
            }
        }
        if let Some(sig) = &self.signature {
            sig.validate().context("in `signature`")?;
        }
        Ok(())
    }
}

impl Signature {
    fn validate(&self) -> Result<()> {
        plain_file_name("file", &self.file)?;
        if let Some(h) = &self.sha256 {
            sha256_hex("sha256", h)?;
        }
        for url in &self.urls {
            url_ok(url)?;
        }
        if self.signers.is_empty() {
            bail!("`signers` is empty: pin at least one fingerprint");
        }
        for fpr in &self.signers {
            if fpr.len() != 40 || !fpr.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("signer `{fpr}`: expected a 40-digit hex OpenPGP v4 fingerprint");
            }
        }
        if self.keyring.is_absolute() || self.keyring.as_str().contains("..") {
            bail!(
                "keyring `{}`: expected a path inside the repository",
                self.keyring
            );
        }
        Ok(())
    }
}

fn sha256_hex(field: &str, value: &str) -> Result<()> {
    if value.len() != 64
        || !value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        bail!(
            "`{field} = \"{value}\"`: expected 64 lower-case hex digits ({} characters given)",
            value.len()
        );
    }
    Ok(())
}

fn plain_file_name(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.contains('/') || value == "." || value == ".." {
        bail!("`{field} = \"{value}\"`: expected a plain file name without `/`");
    }
    Ok(())
}

fn url_ok(url: &str) -> Result<()> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        bail!("url `{url}`: expected an http:// or https:// URL");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
