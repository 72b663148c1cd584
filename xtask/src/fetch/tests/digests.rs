//! `covers = "digests"` (Gentoo's clearsigned `.iso.DIGESTS`) with keys
//! generated here, a made-up "ISO" and DIGESTS laid out like catalyst's;
//! and `optional` components left out of a plain `fetch`.

use sequoia_openpgp::serialize::SerializeInto;
use sequoia_openpgp::Cert;

use super::*;
use crate::fetch::digests;
use crate::fetch::digests::testkit::{clearsign, digests_text, sha512};
use crate::lock::{Covers, Lock, Signature};
use crate::release::tests::generated_key;

const ISO: &str = "install-amd64-minimal-20990101T000000Z.iso";
const DIGESTS: &str = "install-amd64-minimal-20990101T000000Z.iso.DIGESTS";

/// A fetch fixture, and the key that plays Gentoo's release key.
struct Gentoo {
    f: Fixture,
    key: Cert,
}

impl Gentoo {
    fn new() -> Gentoo {
        let f = Fixture::new();
        let key = generated_key("release engineering <releng@invalid>");
        Gentoo { f, key }
    }

    fn keyring(&self, certs: &[&Cert]) {
        let mut bytes = Vec::new();
        for c in certs {
            bytes.extend(c.armored().to_vec().unwrap());
        }
        std::fs::create_dir_all(self.f.root.join("keys")).unwrap();
        write(&self.f.root.join("keys"), "gentoo.asc", &bytes);
    }

    fn signature(&self, signers: &[&Cert]) -> Signature {
        Signature {
            file: DIGESTS.to_owned(),
            urls: vec![],
            sha256: None,
            covers: Covers::Digests,
            keyring: "keys/gentoo.asc".into(),
            signers: signers.iter().map(|c| c.fingerprint().to_hex()).collect(),
        }
    }

    fn source(&self, sha256: Option<String>, signers: &[&Cert]) -> Source {
        Source {
            file: ISO.to_owned(),
            sha256,
            sha256_origin: None,
            urls: vec![],
            debian: None,
            signature: Some(self.signature(signers)),
        }
    }

    /// Put the ISO and the DIGESTS file into the mirror.
    fn publish(&self, iso: &[u8], digests: &[u8]) {
        write(&self.f.mirror, ISO, iso);
        write(&self.f.mirror, DIGESTS, digests);
    }

    /// `digests::verify` on the mirror's files; the error text on failure.
    fn check(&self, signers: &[&Cert]) -> Result<String, String> {
        digests::verify(
            &self.f.root,
            &self.signature(signers),
            ISO,
            &self.f.mirror.join(ISO),
            &self.f.mirror.join(DIGESTS),
            false,
        )
        .map_err(|e| format!("{e:#}"))
    }
}

#[test]
fn a_digests_file_signed_by_the_pinned_key_vouches_for_the_iso() {
    let g = Gentoo::new();
    g.keyring(&[&g.key]);
    let iso = content(300_000);
    g.publish(&iso, &clearsign(&g.key, &digests_text(ISO, &iso)));
    let fpr = g.key.fingerprint().to_hex();
    assert_eq!(g.check(&[&g.key]).unwrap(), fpr);

    // Through fetch: pinned by sha256 as well (what `bump` leaves), and
    // by the DIGESTS alone (what `bump` starts from).
    let mirrors = [g.f.mirror.clone()];
    let ctx = g.f.ctx(&mirrors, Mode::Verify);
    let sha256 = crate::stamp::sha256_bytes(&iso);
    let row = ctx
        .fetch_component(
            "gentoo-minimal-iso",
            &component(g.source(Some(sha256.clone()), &[&g.key])),
        )
        .unwrap();
    assert_eq!(
        (row.sha256.as_str(), row.signature.clone()),
        ("ok", format!("ok ({fpr})"))
    );
    let row = ctx
        .fetch_component("gentoo-minimal-iso", &component(g.source(None, &[&g.key])))
        .unwrap();
    assert_eq!(row.sha256, "not pinned");
    assert_eq!(row.fetched.unwrap().sha256, sha256);
}

#[test]
fn a_digests_file_signed_by_an_unpinned_key_is_rejected() {
    let g = Gentoo::new();
    let stranger = generated_key("someone <someone@invalid>");
    g.keyring(&[&g.key, &stranger]);
    let iso = content(1000);
    g.publish(&iso, &clearsign(&stranger, &digests_text(ISO, &iso)));
    let e = g.check(&[&g.key]).unwrap_err();
    assert!(
        e.contains("OpenPGP signature check failed") && e.contains("not a pinned signer"),
        "{e}"
    );
    assert!(e.contains(DIGESTS), "names the file: {e}");
}

#[test]
fn a_tampered_iso_fails_the_sha512_and_is_not_kept() {
    let g = Gentoo::new();
    g.keyring(&[&g.key]);
    let iso = content(300_000);
    let mut tampered = iso.clone();
    tampered[150_000] ^= 1;
    g.publish(&tampered, &clearsign(&g.key, &digests_text(ISO, &iso)));
    let e = g.check(&[&g.key]).unwrap_err();
    assert!(
        e.contains("SHA512 mismatch")
            && e.contains(&sha512(&iso))
            && e.contains(&sha512(&tampered)),
        "{e}"
    );

    // Downloaded without a pinned sha256: refused, nothing enters the cache.
    let digests = clearsign(&g.key, &digests_text(ISO, &iso));
    let server = Server::start(move |req, _| match req.path.as_str() {
        "/iso" => body(&tampered),
        "/digests" => body(&digests),
        _ => Reply::Status(404),
    });
    let mut src = g.source(None, &[&g.key]);
    src.urls = vec![server.url("/iso")];
    src.signature.as_mut().unwrap().urls = vec![server.url("/digests")];
    let e = format!(
        "{:#}",
        g.f.ctx(&[], Mode::Fetch)
            .fetch_component("gentoo-minimal-iso", &component(src))
            .unwrap_err()
    );
    assert!(e.contains("SHA512 mismatch"), "{e}");
    assert_eq!(g.f.cache_files(), [DIGESTS], "the ISO was not kept");
}

#[test]
fn a_digests_file_that_does_not_name_the_iso_is_rejected() {
    let g = Gentoo::new();
    g.keyring(&[&g.key]);
    let iso = content(1000);
    let other = "install-amd64-minimal-20980101T000000Z.iso";
    g.publish(&iso, &clearsign(&g.key, &digests_text(other, &iso)));
    let e = g.check(&[&g.key]).unwrap_err();
    assert!(
        e.contains("signature ok") && e.contains(&format!("no SHA512 hash for {ISO}")),
        "{e}"
    );
    assert!(e.contains(other), "says what it names: {e}");
}

#[test]
fn a_tampered_digests_text_is_rejected() {
    let g = Gentoo::new();
    g.keyring(&[&g.key]);
    let iso = content(1000);
    let real = sha512(&iso);
    // Another ISO's hash written into the signed text.
    let signed = String::from_utf8(clearsign(&g.key, &digests_text(ISO, b"other"))).unwrap();
    let edited = signed.replace(&sha512(b"other"), &real);
    assert_ne!(edited, signed);
    g.publish(&iso, edited.as_bytes());
    let e = g.check(&[&g.key]).unwrap_err();
    assert!(e.contains("bad signature"), "{e}");

    // Text outside the signed part is never read: a line before the
    // armour naming the ISO's real hash does not make it pass.
    let prefixed = format!("# SHA512 HASH\n{real}  {ISO}\n\n{signed}");
    g.publish(&iso, prefixed.as_bytes());
    let e = g.check(&[&g.key]).unwrap_err();
    assert!(
        e.contains("SHA512 mismatch") && e.contains(&format!("expected {}", sha512(b"other"))),
        "the signed hash decides: {e}"
    );

    // A detached signature is not a DIGESTS file.
    g.publish(&iso, &crate::release::tests::sign_with(&g.key, &iso));
    let e = g.check(&[&g.key]).unwrap_err();
    assert!(e.contains("Malformed OpenPGP message"), "{e}");
}

/// The real lock plus the template entry of sources.lock, uncommented.
fn lock_with_optional_iso() -> Lock {
    let text = std::fs::read_to_string(workspace_root().join("sources.lock")).unwrap();
    let template = crate::fetch::digests::testkit::gentoo_template(&text);
    Lock::parse(&format!("{text}\n{template}")).unwrap()
}

#[test]
fn a_plain_fetch_leaves_out_optional_components_and_fetches_them_when_named() {
    let lock = lock_with_optional_iso();
    let iso = lock.get("gentoo-minimal-iso").unwrap();
    assert!(iso.optional);
    assert_eq!(
        iso.source[0].signature.as_ref().unwrap().covers,
        Covers::Digests
    );
    assert_eq!(
        super::super::selected(&lock, &[], "fetch").unwrap(),
        ["busybox", "kexec-tools", "linux", "musl"]
    );
    let named = ["gentoo-minimal-iso".to_owned()];
    assert_eq!(
        super::super::selected(&lock, &named, "fetch").unwrap(),
        named
    );
    let e = format!(
        "{:#}",
        super::super::selected(&lock, &["nope".to_owned()], "fetch").unwrap_err()
    );
    assert!(e.contains("no component `nope`"), "{e}");
}

#[test]
fn the_sbom_of_a_lock_with_an_optional_component_lists_the_four_build_sources() {
    let lock = lock_with_optional_iso();
    // What a release records: the source each build component used.
    let used: Vec<crate::sbom::SourceUsed> = lock
        .required()
        .map(|(name, c)| crate::sbom::SourceUsed {
            component: name.clone(),
            index: 0,
            sha256: c.source[0].sha256.clone().unwrap(),
            patches: vec![("patches/x/0001-a.patch".to_owned(), "ab".repeat(32))],
        })
        .collect();
    let subject = crate::sbom::Subject {
        tarball_sha256: "0".repeat(64),
        efi_sha256: "1".repeat(64),
    };
    let bom = crate::sbom::cyclonedx(&lock, &used, &subject, 1).unwrap();
    let bom: serde_json::Value = serde_json::from_slice(&bom).unwrap();
    let names: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in ["busybox", "kexec-tools", "linux", "musl"] {
        assert!(names.contains(&name), "{name} missing: {names:?}");
    }
    assert!(!names.contains(&"gentoo-minimal-iso"), "{names:?}");
    // Each source names the repository's patches applied over it.
    let props = bom["components"].to_string();
    let want = format!("patches/x/0001-a.patch sha256={}", "ab".repeat(32));
    assert!(props.contains(&want), "{props}");
}
