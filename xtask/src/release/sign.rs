//! Detached OpenPGP signatures of release files, made with sequoia-openpgp.
//!
//! The key is an armored secret key (a TSK: `sq key export`, or
//! `gpg --export-secret-keys --armor FPR`), read from `--signing-key FILE`
//! or from the environment variable `GEN_KEXEC_SIGNING_KEY` holding the key
//! itself (what a CI secret gives). A passphrase-protected key is unlocked
//! with `GEN_KEXEC_SIGNING_KEY_PASSPHRASE`. The key's first valid signing
//! (sub)key signs. Anyone verifies with the public key, e.g.
//! `sqv --keyring release-key.asc SHA256SUMS.asc SHA256SUMS`.

use std::io::Write;

use anyhow::{bail, Context, Result};
use camino::Utf8Path;
use sequoia_openpgp as openpgp;

use openpgp::crypto::{KeyPair, Password};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::Cert;

pub const KEY_ENV: &str = "GEN_KEXEC_SIGNING_KEY";
pub const PASSPHRASE_ENV: &str = "GEN_KEXEC_SIGNING_KEY_PASSPHRASE";

/// A secret signing key, unlocked.
pub struct SigningKey {
    keypair: KeyPair,
    /// The certificate's (primary key's) fingerprint: what verifiers pin.
    pub fingerprint: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint)
    }
}

/// The key from `file`, else from `$GEN_KEXEC_SIGNING_KEY`, else none.
pub fn load(file: Option<&Utf8Path>) -> Result<Option<SigningKey>> {
    if let Some(file) = file {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read the signing key {file}"))?;
        return from_bytes(&bytes, file.as_str()).map(Some);
    }
    match std::env::var(KEY_ENV) {
        Ok(v) if !v.trim().is_empty() => from_bytes(v.as_bytes(), &format!("${KEY_ENV}")).map(Some),
        _ => Ok(None),
    }
}

/// Parse an armored (or binary) secret key; `what` names it in errors.
pub fn from_bytes(bytes: &[u8], what: &str) -> Result<SigningKey> {
    let cert = Cert::from_bytes(bytes).with_context(|| {
        format!("{what}: not an OpenPGP key (expected an armored secret key, BEGIN PGP PRIVATE KEY BLOCK)")
    })?;
    from_cert(&cert, what)
}

pub fn from_cert(cert: &Cert, what: &str) -> Result<SigningKey> {
    let policy = StandardPolicy::new();
    let fingerprint = cert.fingerprint().to_hex();
    let Some(ka) = cert
        .keys()
        .with_policy(&policy, None)
        .supported()
        .alive()
        .revoked(false)
        .for_signing()
        .secret()
        .next()
    else {
        bail!(
            "{what}: key {fingerprint} has no usable secret signing key (a public key only, or \
             its signing keys are expired or revoked): give the armored secret key, e.g. from \
             `sq key export --cert {fingerprint}` or `gpg --export-secret-keys --armor {fingerprint}`"
        );
    };
    let key = ka.key().clone();
    let key = if key.has_unencrypted_secret() {
        key
    } else {
        let pass = std::env::var(PASSPHRASE_ENV).map_err(|_| {
            anyhow::anyhow!(
                "{what}: the secret key {fingerprint} is protected by a passphrase: set \
                 {PASSPHRASE_ENV}"
            )
        })?;
        key.decrypt_secret(&Password::from(pass))
            .with_context(|| format!("{what}: wrong passphrase in {PASSPHRASE_ENV}"))?
    };
    let keypair = key
        .into_keypair()
        .with_context(|| format!("{what}: cannot use the secret key"))?;
    Ok(SigningKey {
        keypair,
        fingerprint,
    })
}

/// An ASCII-armored detached signature over `data`.
pub fn detached_armored(key: &SigningKey, data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let message = Armorer::new(Message::new(&mut out))
        .kind(openpgp::armor::Kind::Signature)
        .build()
        .context("cannot set up the signature writer")?;
    let mut signer = Signer::new(message, key.keypair.clone())
        .context("cannot set up the signer")?
        .detached()
        .build()
        .context("cannot set up the signer")?;
    signer.write_all(data).context("cannot sign")?;
    signer.finalize().context("cannot finish the signature")?;
    Ok(out)
}
