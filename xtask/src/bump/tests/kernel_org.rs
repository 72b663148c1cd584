//! `bump linux` to a made-up kernel.org-style release: `linux-X.Y.Z.tar.xz`
//! and a `.tar.sign` over the uncompressed tar, by the key pinned in the
//! test's own sources.lock; and the refusals that leave everything as it
//! was.

use super::workspace::{kernel_release, Fixture};
use super::*;
use crate::release::tests::{generated_key, sign_with};

#[test]
fn a_signed_kernel_release_is_verified_and_the_entry_rewritten() {
    let f = Fixture::new();
    let (tar, xz) = kernel_release("6.1.2", "VERSION = 6\n");
    f.publish("6.1.2", xz.clone(), sign_with(&f.key, &tar));
    let before = f.lock_text();

    let o = f.bump("linux", "6.1.2", false, false).unwrap();
    let sha = crate::stamp::sha256_bytes(&xz);
    let fpr = f.key.fingerprint().to_hex();
    assert_eq!(
        (o.old_version.as_str(), o.new_version.as_str()),
        ("6.1.1", "6.1.2")
    );
    assert_eq!(o.pins.len(), 1);
    assert_eq!(o.pins[0].new.sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(o.dropped.len(), 1, "the unsigned Debian repack goes");
    assert!(o.written);

    // Exactly this entry changed, comments kept, the rest byte-for-byte.
    let expected = before
        .replace("version = \"6.1.1\" # LTS", "version = \"6.1.2\" # LTS")
        .replace("dir = \"linux-6.1.1\"", "dir = \"linux-6.1.2\"")
        .replace(
            &format!(
                "# Debian's repack of v6.1.1.\n[[component.linux.source]]\n\
                 file = \"linux_6.1.1.orig.tar.xz\"\nsha256 = \"{}\"\nsha256_origin = \"a test\"\n\
                 urls = [\"{}/debian/linux_6.1.1.orig.tar.xz\"]\ndebian = \"linux=6.1.1-1\"\n\n",
                "0".repeat(64),
                f.base
            ),
            "",
        )
        .replace(
            "file = \"linux-6.1.1.tar.xz\"\n",
            &format!(
                "file = \"linux-6.1.2.tar.xz\"\nsha256 = \"{sha}\"\nsha256_origin = \"computed by \
                 `cargo xtask bump` after verifying the OpenPGP signature linux-6.1.2.tar.sign \
                 (over the uncompressed tar) by {fpr}\"\n"
            ),
        )
        .replace("/pub/v6.x/linux-6.1.1.tar.", "/pub/v6.x/linux-6.1.2.tar.")
        .replace(
            "file = \"linux-6.1.1.tar.sign\"",
            "file = \"linux-6.1.2.tar.sign\"",
        );
    assert_ne!(expected, before);
    assert_eq!(std::fs::read_to_string(f.lock_path()).unwrap(), expected);
    assert_eq!(
        f.cache_files(),
        ["linux-6.1.2.tar.sign", "linux-6.1.2.tar.xz"]
    );

    // The new lock is what `fetch` now uses: pinned by sha256 and signature.
    let lock = Lock::load(&f.lock_path()).unwrap();
    let ctx = Ctx::with(&f.root, &f.cache, &[], Mode::Verify).unwrap();
    let row = ctx
        .fetch_component("linux", lock.get("linux").unwrap())
        .unwrap();
    assert_eq!(row.sha256, "ok");
    assert_eq!(row.signer.as_deref(), Some(fpr.as_str()));
}

#[test]
fn a_signature_by_another_key_is_refused_and_nothing_changes() {
    let f = Fixture::new();
    let (tar, xz) = kernel_release("6.1.2", "VERSION = 6\n");
    let stranger = generated_key("not pinned <stranger@invalid>");
    f.publish("6.1.2", xz, sign_with(&stranger, &tar));
    let before = std::fs::read(f.lock_path()).unwrap();
    let err = format!("{:#}", f.bump("linux", "6.1.2", false, false).unwrap_err());
    assert!(err.contains("refusing to bump linux to 6.1.2"), "{err}");
    assert!(err.contains("not a pinned signer"), "{err}");
    f.assert_untouched(&before);
}

#[test]
fn a_tampered_tarball_is_refused_and_nothing_changes() {
    let f = Fixture::new();
    let (tar, _) = kernel_release("6.1.2", "VERSION = 6\n");
    let (_, tampered) = kernel_release("6.1.2", "VERSION = 6\n# backdoor\n");
    f.publish("6.1.2", tampered, sign_with(&f.key, &tar));
    let before = std::fs::read(f.lock_path()).unwrap();
    let err = format!("{:#}", f.bump("linux", "6.1.2", false, true).unwrap_err());
    assert!(err.contains("bad signature"), "{err}");
    f.assert_untouched(&before);
    // Also without --dry-run.
    let err = format!("{:#}", f.bump("linux", "6.1.2", false, false).unwrap_err());
    assert!(err.contains("bad signature"), "{err}");
    f.assert_untouched(&before);
}

#[test]
fn dry_run_verifies_and_prints_but_writes_nothing() {
    let f = Fixture::new();
    let (tar, xz) = kernel_release("6.1.2", "VERSION = 6\n");
    f.publish("6.1.2", xz.clone(), sign_with(&f.key, &tar));
    let before = std::fs::read(f.lock_path()).unwrap();
    let o = f.bump("linux", "6.1.2", false, true).unwrap();
    assert!(!o.written);
    assert_eq!(
        o.pins[0].new.sha256.as_deref(),
        Some(crate::stamp::sha256_bytes(&xz).as_str())
    );
    f.assert_untouched(&before);
}

#[test]
fn offline_or_missing_release_is_a_clear_error_and_nothing_changes() {
    let f = Fixture::new();
    let before = std::fs::read(f.lock_path()).unwrap();
    // Nothing published: 404.
    let err = format!("{:#}", f.bump("linux", "6.1.3", false, false).unwrap_err());
    assert!(
        err.contains("cannot get linux-6.1.3.tar.xz") && err.contains("Nothing was changed"),
        "{err}"
    );
    f.assert_untouched(&before);

    // No server at all (a port nobody listens on).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let offline = f
        .lock_text()
        .replace(&f.base, &format!("http://127.0.0.1:{port}"));
    std::fs::write(f.lock_path(), &offline).unwrap();
    let err = format!("{:#}", f.bump("linux", "6.1.2", false, false).unwrap_err());
    assert!(err.contains("Check the network"), "{err}");
    assert_eq!(std::fs::read_to_string(f.lock_path()).unwrap(), offline);
    assert_eq!(f.cache_files(), Vec::<String>::new());
}

#[test]
fn an_unsigned_component_needs_allow_unsigned_and_says_trust_on_first_use() {
    let f = Fixture::new();
    let new = b"kexec-tools 2.0.2 tarball".to_vec();
    f.put("/kexec/kexec-tools-2.0.2.tar.xz", new.clone());
    let before = std::fs::read(f.lock_path()).unwrap();
    let err = format!(
        "{:#}",
        f.bump("kexec-tools", "2.0.2", false, false).unwrap_err()
    );
    assert!(err.contains("--allow-unsigned"), "{err}");
    f.assert_untouched(&before);

    let o = f.bump("kexec-tools", "2.0.2", true, false).unwrap();
    assert_eq!(o.pins[0].how, "trust on first use (no signature)");
    let lock = Lock::load(&f.lock_path()).unwrap();
    let src = &lock.get("kexec-tools").unwrap().source[0];
    assert_eq!(
        src.sha256.as_deref(),
        Some(crate::stamp::sha256_bytes(&new).as_str())
    );
    let origin = src.sha256_origin.as_deref().unwrap();
    assert!(
        origin.starts_with("trust on first use: downloaded from http://127.0.0.1:"),
        "{origin}"
    );
    // The other component is untouched.
    let old = Lock::parse(std::str::from_utf8(&before).unwrap()).unwrap();
    assert_eq!(
        format!("{:?}", lock.get("linux").unwrap()),
        format!("{:?}", old.get("linux").unwrap())
    );
}

#[test]
fn the_staging_folder_never_survives() {
    let f = Fixture::new();
    let (tar, xz) = kernel_release("6.1.2", "VERSION = 6\n");
    f.publish("6.1.2", xz, sign_with(&f.key, &tar));
    f.bump("linux", "6.1.2", false, false).unwrap();
    let leftovers: Vec<String> = std::fs::read_dir(&f.cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".bump-") || n.ends_with(".partial"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
}

#[test]
fn a_signature_over_the_file_is_verified_and_its_pinned_sha256_updated() {
    let f = Fixture::new();
    let tarball = b"musl 1.0.1 release tarball".to_vec();
    let sig = sign_with(&f.key, &tarball);
    f.put("/releases/musl-1.0.1.tar.gz", tarball.clone());
    f.put("/releases/musl-1.0.1.tar.gz.asc", sig.clone());
    let o = f.bump("musl", "1.0.1", false, false).unwrap();
    assert!(o.dropped.is_empty());
    let lock = Lock::load(&f.lock_path()).unwrap();
    let comp = lock.get("musl").unwrap();
    assert_eq!(
        (comp.version.as_str(), comp.dir.as_deref().unwrap()),
        ("1.0.1", "musl-1.0.1")
    );
    let src = &comp.source[0];
    assert_eq!(
        src.sha256.as_deref(),
        Some(crate::stamp::sha256_bytes(&tarball).as_str())
    );
    assert!(
        src.sha256_origin
            .as_deref()
            .unwrap()
            .contains("musl-1.0.1.tar.gz.asc (over the file)"),
        "{:?}",
        src.sha256_origin
    );
    let s = src.signature.as_ref().unwrap();
    assert_eq!(
        s.sha256.as_deref(),
        Some(crate::stamp::sha256_bytes(&sig).as_str())
    );
    assert_eq!(
        s.urls,
        [format!("{}/releases/musl-1.0.1.tar.gz.asc", f.base)]
    );
}
