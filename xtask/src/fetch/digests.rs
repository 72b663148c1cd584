//! `covers = "digests"`: a file vouched for by an OpenPGP clearsigned list
//! of hashes, the way Gentoo publishes its release media.
//!
//! Gentoo's `install-amd64-minimal-<STAMP>.iso.DIGESTS` is written by
//! catalyst as sections of `# <ALGORITHM> HASH` followed by one
//! `<hex>  <file name>` line (for the ISO, then for its `.CONTENTS.gz`),
//! and clearsigned by the Gentoo release key:
//!
//! ```text
//! -----BEGIN PGP SIGNED MESSAGE-----
//! Hash: SHA512
//!
//! # BLAKE2B HASH
//! 1f0e...  install-amd64-minimal-20251123T170346Z.iso
//! # SHA512 HASH
//! 9a3c...  install-amd64-minimal-20251123T170346Z.iso
//! ...
//! -----BEGIN PGP SIGNATURE-----
//! ```
//!
//! The signature must be by a pinned signer (checked by
//! [`super::openpgp::verify_signed_text`], which hands back only the text
//! the signature covers), and the file's SHA512 must be the one listed for
//! its name under `# SHA512 HASH`. The lock's sha256 of the file, when it
//! pins one, is checked before, as for any source.

use anyhow::{bail, Context, Result};
use camino::Utf8Path;
use sha2::Sha512;

use crate::lock::Signature;

/// The algorithm whose line must match (the strongest Gentoo lists that
/// the `sha2` crate computes).
pub const ALGORITHM: &str = "SHA512";

/// One `<hex>  <name>` line and the `# <ALGORITHM> HASH` section it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub algorithm: String,
    pub hex: String,
    pub name: String,
}

/// Check `digests_file` (clearsigned by a pinned signer) and that it lists
/// `data`'s SHA512 for `file` (the lock's file name: `data` may be a
/// download's `.partial` name). The signer's fingerprint on success.
pub fn verify(
    root: &Utf8Path,
    sig: &Signature,
    file: &str,
    data: &Utf8Path,
    digests_file: &Utf8Path,
    sha256_pinned: bool,
) -> Result<String> {
    let (signer, text) =
        super::openpgp::verify_signed_text(root, sig, digests_file, sha256_pinned)?;
    let text = String::from_utf8_lossy(&text);
    let want = listed(&parse(&text), file).with_context(|| {
        format!("{digests_file} (signature ok, by {signer}) does not vouch for {file}")
    })?;
    let actual = sha512_file(data)?;
    if actual != want {
        bail!(
            "SHA512 mismatch for {data}\n  expected {want} (listed for {file} in {digests_file}, \
             signed by {signer})\n  actual   {actual}\n  likely cause: a damaged, truncated or \
             tampered file, or a DIGESTS file of another release. Download both again."
        );
    }
    Ok(signer)
}

/// Every hash line of a DIGESTS text, with its section's algorithm. Lines
/// that are neither a `# ... HASH` header nor `<hex> <name>` are skipped.
pub fn parse(text: &str) -> Vec<Line> {
    let mut algorithm: Option<String> = None;
    let mut lines = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('#') {
            algorithm = header
                .trim()
                .strip_suffix("HASH")
                .map(|a| a.trim().to_ascii_uppercase());
            continue;
        }
        let (Some(alg), Some((hex, name))) = (&algorithm, line.split_once(char::is_whitespace))
        else {
            continue;
        };
        // `sha512sum` marks binary mode with `*`; a path keeps its last part.
        let name = name.trim_start().trim_start_matches('*');
        let name = name.rsplit('/').next().unwrap_or(name);
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() {
            continue;
        }
        lines.push(Line {
            algorithm: alg.clone(),
            hex: hex.to_ascii_lowercase(),
            name: name.to_owned(),
        });
    }
    lines
}

/// The one [`ALGORITHM`] hash `lines` give for `file`.
pub fn listed(lines: &[Line], file: &str) -> Result<String> {
    let ours: Vec<&Line> = lines
        .iter()
        .filter(|l| l.algorithm == ALGORITHM && l.name == file)
        .collect();
    let Some(first) = ours.first() else {
        let names: Vec<&str> = lines
            .iter()
            .filter(|l| l.algorithm == ALGORITHM)
            .map(|l| l.name.as_str())
            .collect();
        bail!(
            "it lists no {ALGORITHM} hash for {file} (its `# {ALGORITHM} HASH` lines name: {}).\n  \
             likely cause: the DIGESTS file of another image or release; check that \
             `signature.file` in sources.lock belongs to `file`",
            if names.is_empty() {
                "nothing".to_owned()
            } else {
                names.join(", ")
            }
        );
    };
    if first.hex.len() != 128 {
        bail!(
            "its {ALGORITHM} hash for {file} has {} hex digits, expected 128",
            first.hex.len()
        );
    }
    if ours.iter().any(|l| l.hex != first.hex) {
        bail!("it lists different {ALGORITHM} hashes for {file}: refusing to choose");
    }
    Ok(first.hex.clone())
}

/// Lower-case hex SHA512 of a file.
pub fn sha512_file(path: &Utf8Path) -> Result<String> {
    crate::stamp::digest_file::<Sha512>(path)
}

/// Made-up Gentoo-style DIGESTS files, for tests here and in `bump`.
#[cfg(test)]
pub mod testkit {
    use std::io::Write;

    use sequoia_openpgp::policy::StandardPolicy;
    use sequoia_openpgp::serialize::stream::{Message, Signer};
    use sequoia_openpgp::Cert;
    use sha2::{Digest, Sha512};

    pub fn sha512(bytes: &[u8]) -> String {
        hex::encode(Sha512::digest(bytes))
    }

    /// A DIGESTS text as catalyst writes it, for the image `iso` named `name`.
    pub fn digests_text(name: &str, iso: &[u8]) -> String {
        format!(
            "# BLAKE2B HASH\n{b}  {name}\n# SHA512 HASH\n{s}  {name}\n\
             # BLAKE2B HASH\n{b}  {name}.CONTENTS.gz\n# SHA512 HASH\n{c}  {name}.CONTENTS.gz\n",
            b = "0b".repeat(64),
            s = sha512(iso),
            c = sha512(b"contents"),
        )
    }

    /// The commented-out `gentoo-minimal-iso` template of a sources.lock
    /// text, uncommented (as a maintainer does before `bump`).
    pub fn gentoo_template(lock_text: &str) -> String {
        let template: String = lock_text
            .lines()
            .skip_while(|l| !l.starts_with("# [component.gentoo-minimal-iso]"))
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.strip_prefix("# ").or(l.strip_prefix('#')).unwrap())
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            template.contains("optional = true") && template.contains("covers = \"digests\""),
            "sources.lock has the commented-out gentoo-minimal-iso template:\n{template}"
        );
        template
    }

    /// `text` clearsigned by `cert`'s signing subkey (like `gpg --clearsign`).
    pub fn clearsign(cert: &Cert, text: &str) -> Vec<u8> {
        let policy = StandardPolicy::new();
        let key = cert
            .keys()
            .unencrypted_secret()
            .with_policy(&policy, None)
            .for_signing()
            .next()
            .expect("a signing key");
        let keypair = key.key().clone().into_keypair().unwrap();
        let mut out = Vec::new();
        let mut signer = Signer::new(Message::new(&mut out), keypair)
            .unwrap()
            .cleartext()
            .build()
            .unwrap();
        signer.write_all(text.as_bytes()).unwrap();
        signer.finalize().unwrap();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# BLAKE2B HASH\n\
        aa  install-amd64-minimal-1.iso\n\
        # SHA512 HASH\n\
        {A}  install-amd64-minimal-1.iso\n\
        # BLAKE2B HASH\n\
        bb  install-amd64-minimal-1.iso.CONTENTS.gz\n\
        # SHA512 HASH\n\
        {B} *sub/install-amd64-minimal-1.iso.CONTENTS.gz\n\
        not a hash line\n";

    fn text() -> String {
        TEXT.replace("{A}", &"A1".repeat(64))
            .replace("{B}", &"b2".repeat(64))
    }

    #[test]
    fn sections_and_names_are_read() {
        let lines = parse(&text());
        assert_eq!(lines.len(), 4);
        assert_eq!(
            listed(&lines, "install-amd64-minimal-1.iso").unwrap(),
            "a1".repeat(64)
        );
        assert_eq!(
            listed(&lines, "install-amd64-minimal-1.iso.CONTENTS.gz").unwrap(),
            "b2".repeat(64),
            "`*` and a directory are not part of the name"
        );
        assert_eq!(lines[0].algorithm, "BLAKE2B");
    }

    #[test]
    fn a_file_it_does_not_name_is_refused_with_what_it_names() {
        let e = format!("{:#}", listed(&parse(&text()), "other.iso").unwrap_err());
        assert!(
            e.contains("no SHA512 hash for other.iso")
                && e.contains(
                    "name: install-amd64-minimal-1.iso, install-amd64-minimal-1.iso.CONTENTS.gz"
                ),
            "{e}"
        );
        let e = format!("{:#}", listed(&[], "x.iso").unwrap_err());
        assert!(e.contains("name: nothing"), "{e}");
    }

    #[test]
    fn a_blake2b_line_alone_is_not_enough_and_conflicts_are_refused() {
        let only_blake = "# BLAKE2B HASH\naa  x.iso\n";
        assert!(listed(&parse(only_blake), "x.iso").is_err());
        let short = "# SHA512 HASH\nabcd  x.iso\n";
        let e = format!("{:#}", listed(&parse(short), "x.iso").unwrap_err());
        assert!(e.contains("4 hex digits, expected 128"), "{e}");
        let twice = format!(
            "# SHA512 HASH\n{}  x.iso\n# SHA512 HASH\n{}  x.iso\n",
            "a".repeat(128),
            "b".repeat(128)
        );
        let e = format!("{:#}", listed(&parse(&twice), "x.iso").unwrap_err());
        assert!(e.contains("different SHA512 hashes"), "{e}");
    }

    #[test]
    fn sha512_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = Utf8Path::from_path(dir.path()).unwrap().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        // FIPS 180-2 test vector.
        assert_eq!(
            sha512_file(&p).unwrap(),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }
}
