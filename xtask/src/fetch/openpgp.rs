//! Detached OpenPGP signatures, checked with sequoia-openpgp against the
//! keyring in the repository, accepting only the lock's pinned signers.
//!
//! Only the certificates whose primary fingerprint is pinned in the lock are
//! taken from the keyring; a signature counts when it verifies with one of
//! their keys (a signing subkey of a pinned primary is fine). Anything else,
//! an unknown issuer, a bad checksum, a revoked or expired key, is an error.
//! For kernel.org's `.tar.sign` (`covers = "uncompressed-tar"`) the tarball
//! is decompressed on the fly into the verifier; nothing is written to disk.
//! A clearsigned file (Gentoo's `.DIGESTS`, `covers = "digests"`) is checked
//! by [`verify_signed_text`], which returns only the text the signature
//! covers; `digests` then looks the file's SHA512 up in it.

use std::fs::File;
use std::io::BufReader;

use anyhow::{anyhow, bail, Context, Result};
use camino::Utf8Path;
use sequoia_openpgp as openpgp;

use openpgp::cert::{Cert, CertParser};
use openpgp::parse::stream::{
    DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationHelper, VerifierBuilder,
};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::{Fingerprint, KeyHandle};

use crate::lock::{Covers, Signature};

/// Check `sig_file` over `data`; the pinned signer's fingerprint on success.
///
/// `sha256_pinned` says the lock pins `data` by sha256 already: then SHA-1
/// signatures are accepted too (musl's release key and signatures use
/// SHA-1). They add provenance only; SHA-1's collision weakness cannot
/// substitute the file when the sha256 decides. A source pinned by its
/// signature alone gets sequoia's standard policy, which rejects SHA-1.
pub fn verify(
    root: &Utf8Path,
    sig: &Signature,
    data: &Utf8Path,
    sig_file: &Utf8Path,
    sha256_pinned: bool,
) -> Result<String> {
    if sig.covers == Covers::Digests {
        bail!("{sig_file}: a DIGESTS file is checked by fetch::digests::verify (a bug)");
    }
    let keyring = root.join(&sig.keyring);
    let (policy, helper) = checker(&keyring, sig, sha256_pinned)?;
    let fail = |e: anyhow::Error| {
        let what = format!(
            "{sig_file} over {data}{}",
            if sig.covers == Covers::UncompressedTar {
                " (decompressed)"
            } else {
                ""
            }
        );
        failure(&what, e, &keyring, sig)
    };
    let mut verifier = DetachedVerifierBuilder::from_file(sig_file)
        .with_context(|| format!("{sig_file}: not an OpenPGP signature"))?
        .with_policy(&policy, None, helper)
        .map_err(fail)?;
    let input = BufReader::with_capacity(
        1 << 20,
        File::open(data).with_context(|| format!("cannot open {data}"))?,
    );
    let result = match sig.covers {
        Covers::File => verifier.verify_reader(input),
        Covers::Digests => unreachable!("refused above"),
        Covers::UncompressedTar => {
            let mut input = input;
            let magic = std::io::BufRead::fill_buf(&mut input)
                .with_context(|| format!("cannot read {data}"))?
                .to_vec();
            verifier.verify_reader(crate::extract::decompressor(&magic, input))
        }
    };
    result.map_err(fail)?;
    let signer = verifier
        .into_helper()
        .signer
        .expect("check() accepted a pinned signer");
    Ok(signer.to_hex())
}

/// Check the clearsigned (or inline-signed) `signed_file`: the pinned
/// signer's fingerprint and the text the signature covers. Only that text
/// is returned: anything before or after the signed part is never seen.
pub fn verify_signed_text(
    root: &Utf8Path,
    sig: &Signature,
    signed_file: &Utf8Path,
    sha256_pinned: bool,
) -> Result<(String, Vec<u8>)> {
    let keyring = root.join(&sig.keyring);
    let (policy, helper) = checker(&keyring, sig, sha256_pinned)?;
    let fail = |e: anyhow::Error| failure(signed_file.as_str(), e, &keyring, sig);
    let mut verifier = VerifierBuilder::from_file(signed_file)
        .map_err(|e| {
            anyhow!(
                "{signed_file}: not an OpenPGP signed message (expected a clearsigned text): {e}"
            )
        })?
        .with_policy(&policy, None, helper)
        .map_err(fail)?;
    let mut text = Vec::new();
    std::io::copy(&mut verifier, &mut text).map_err(|e| fail(e.into()))?;
    if !verifier.message_processed() {
        return Err(fail(anyhow!("the signed message is incomplete")));
    }
    let signer = verifier
        .into_helper()
        .signer
        .expect("check() accepted a pinned signer");
    Ok((signer.to_hex(), text))
}

/// The policy and the verification helper for `sig`'s pinned signers.
/// `sha256_pinned` lets SHA-1 through (see [`verify`]).
fn checker(
    keyring: &Utf8Path,
    sig: &Signature,
    sha256_pinned: bool,
) -> Result<(StandardPolicy<'static>, Helper)> {
    let certs = pinned_certs(keyring, &sig.signers)?;
    let mut policy = StandardPolicy::new();
    if sha256_pinned {
        policy.accept_hash(openpgp::types::HashAlgorithm::SHA1);
    }
    Ok((
        policy,
        Helper {
            certs,
            signer: None,
        },
    ))
}

/// The error for a signature that did not verify (`what`: which files).
fn failure(what: &str, e: anyhow::Error, keyring: &Utf8Path, sig: &Signature) -> anyhow::Error {
    anyhow!(
        "OpenPGP signature check failed: {what}\n  {e:#}\n  \
         accepted signers (from {keyring}): {}\n  likely cause: the file or the signature \
         was modified or does not belong to this release, or the signer is not pinned in sources.lock",
        sig.signers.join(", ")
    )
}

/// The certificates of `signers` from `keyring`; each must be there.
fn pinned_certs(keyring: &Utf8Path, signers: &[String]) -> Result<Vec<Cert>> {
    let wanted: Vec<Fingerprint> = signers
        .iter()
        .map(|s| s.parse().with_context(|| format!("bad fingerprint {s}")))
        .collect::<Result<_>>()?;
    let mut found = Vec::new();
    let parser = CertParser::from_file(keyring)
        .with_context(|| format!("cannot read the keyring {keyring}"))?;
    for cert in parser {
        let cert = cert.with_context(|| format!("{keyring}: malformed certificate"))?;
        if wanted.contains(&cert.fingerprint()) {
            found.push(cert);
        }
    }
    for fpr in &wanted {
        if !found.iter().any(|c| c.fingerprint() == *fpr) {
            bail!(
                "{keyring} has no certificate {} (pinned in sources.lock): add the signer's public key there",
                fpr.to_hex()
            );
        }
    }
    Ok(found)
}

struct Helper {
    /// Pinned certificates only: the verifier never sees any other key.
    certs: Vec<Cert>,
    signer: Option<Fingerprint>,
}

impl VerificationHelper for Helper {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.certs.clone())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        let mut problems = Vec::new();
        for layer in structure {
            let MessageLayer::SignatureGroup { results } = layer else {
                problems.push("unexpected message structure".to_owned());
                continue;
            };
            for result in results {
                match result {
                    Ok(good) => {
                        let fpr = good.ka.cert().fingerprint();
                        if self.certs.iter().any(|c| c.fingerprint() == fpr) {
                            self.signer = Some(fpr);
                            return Ok(());
                        }
                        problems.push(format!("signed by unpinned key {}", fpr.to_hex()));
                    }
                    Err(e) => problems.push(describe(&e)),
                }
            }
        }
        if problems.is_empty() {
            problems.push("the file holds no signature".to_owned());
        }
        Err(anyhow!(
            "no valid signature by a pinned signer: {}",
            problems.join("; ")
        ))
    }
}

fn describe(e: &openpgp::parse::stream::VerificationError) -> String {
    use openpgp::parse::stream::VerificationError as V;
    match e {
        V::MissingKey { sig } => {
            let issuers: Vec<String> = sig.get_issuers().iter().map(|h| h.to_hex()).collect();
            format!(
                "made by {}, which is not a pinned signer",
                if issuers.is_empty() {
                    "an unknown key".to_owned()
                } else {
                    issuers.join(", ")
                }
            )
        }
        V::BadSignature { error, .. } => {
            format!("bad signature (the data does not match): {error}")
        }
        other => other.to_string(),
    }
}
