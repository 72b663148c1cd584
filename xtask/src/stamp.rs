//! Stamps: a stage is done when its stamp file holds the hash of its inputs.
//!
//! The key of a stage is a sha256 over labelled inputs: literal values
//! (versions, flags, the lock's sha256 of a tarball), file contents and
//! tool versions (`cc --version`). A stamp is written only after the stage succeeded, with an
//! atomic rename, and removed before the stage starts again, so a failed or
//! interrupted stage is never mistaken for a good one.

use std::io::Read;

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest, Sha256};

use crate::fsutil;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A literal value: a version, a flag list, a pinned sha256.
    Value(String, String),
    /// A file's contents.
    File(Utf8PathBuf),
    /// `PROGRAM --version`, first line; a changed compiler rebuilds.
    Tool(String),
}

impl std::fmt::Display for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Value(k, v) => write!(f, "{k}={v}"),
            Input::File(p) => write!(f, "file {p}"),
            Input::Tool(t) => write!(f, "tool {t}"),
        }
    }
}

/// Hashes labelled inputs into a key.
#[derive(Default)]
pub struct KeyBuilder {
    hasher: Sha256,
}

impl KeyBuilder {
    pub fn value(&mut self, label: &str, value: &str) -> &mut Self {
        self.field(label.as_bytes());
        self.field(value.as_bytes());
        self
    }

    pub fn input(&mut self, input: &Input) -> Result<&mut Self> {
        match input {
            Input::Value(k, v) => {
                self.value(k, v);
            }
            Input::File(p) => {
                self.value("file", p.as_str());
                self.field(&sha256_file(p)?.into_bytes());
            }
            Input::Tool(t) => {
                let v = tool_version(t)?;
                self.value("tool", t);
                self.field(v.as_bytes());
            }
        }
        Ok(self)
    }

    pub fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }

    fn field(&mut self, bytes: &[u8]) {
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
    }
}

/// The stamp file of one stage.
pub struct Stamp {
    path: Utf8PathBuf,
}

impl Stamp {
    pub fn new(stamps_dir: &Utf8Path, name: &str) -> Stamp {
        Stamp {
            path: stamps_dir.join(format!("{name}.stamp")),
        }
    }

    pub fn is_fresh(&self, key: &str) -> bool {
        std::fs::read_to_string(&self.path).is_ok_and(|s| s.trim() == key)
    }

    /// Forget the stage before running it again.
    pub fn clear(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", self.path))
            }
            _ => Ok(()),
        }
    }

    pub fn commit(&self, key: &str) -> Result<()> {
        fsutil::write_atomic(&self.path, format!("{key}\n").as_bytes())
    }
}

pub fn sha256_file(path: &Utf8Path) -> Result<String> {
    digest_file::<Sha256>(path)
}

/// Lower-case hex digest `D` (SHA256, SHA512, ...) of a file, read in
/// 1 MiB blocks.
pub fn digest_file<D: sha2::Digest>(path: &Utf8Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let mut h = D::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {path}"))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Hash of a directory tree: sorted relative paths, kinds, exec bits,
/// contents and link targets. Ownership and times do not count. (Tests
/// compare extracted trees with it; no stage is keyed by a whole tree.)
#[cfg(test)]
pub fn tree_hash(root: &Utf8Path) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut k = KeyBuilder::default();
    for entry in fsutil::walk_sorted(root)? {
        let rel = entry.strip_prefix(root).expect("walk stays below root");
        let meta =
            std::fs::symlink_metadata(&entry).with_context(|| format!("cannot stat {entry}"))?;
        k.value("path", rel.as_str());
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&entry)?;
            k.value("link", &target.to_string_lossy());
        } else if meta.is_dir() {
            k.value("dir", "");
        } else {
            let exec = meta.permissions().mode() & 0o111 != 0;
            k.value("file", if exec { "x" } else { "-" });
            k.value("sha256", &sha256_file(&entry)?);
        }
    }
    Ok(k.finish())
}

fn tool_version(program: &str) -> Result<String> {
    let out = std::process::Command::new(program)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run `{program} --version`: is {program} installed?"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or("").to_owned())
}
