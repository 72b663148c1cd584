//! Release collection on small stand-in files (no kernel build): the files,
//! `sha256sum -c`, the signature checked by Debian's `sqv`, the SBOM
//! checked against the vendored CycloneDX 1.5 schema, determinism.

use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};
use sequoia_openpgp as openpgp;

use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::serialize::SerializeInto;
use openpgp::Cert;

use super::*;

/// A fresh Cv25519 key with a signing subkey.
pub fn generated_key(uid: &str) -> Cert {
    CertBuilder::new()
        .set_cipher_suite(CipherSuite::Cv25519)
        .add_userid(uid)
        .add_signing_subkey()
        .generate()
        .expect("key generation")
        .0
}

/// An armored detached signature over `data` by `cert` (the release code).
pub fn sign_with(cert: &Cert, data: &[u8]) -> Vec<u8> {
    let key = sign::from_cert(cert, "test key").unwrap();
    sign::detached_armored(&key, data).unwrap()
}

fn tmp() -> (tempfile::TempDir, Utf8PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = Utf8PathBuf::from_path_buf(t.path().to_owned()).unwrap();
    (t, p)
}

fn workspace_root() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn real_lock() -> Lock {
    Lock::load(&workspace_root().join(crate::lock::LOCK_FILE)).unwrap()
}

/// Stand-ins for the build's outputs, and the first source of each
/// component as "used".
fn built(dir: &Utf8Path, lock: &Lock) -> (Built, Vec<SourceUsed>) {
    std::fs::create_dir_all(dir).unwrap();
    let b = Built {
        tarball: dir.join("efi.tar.xz"),
        efi: dir.join("bootx64.efi"),
        manifest: dir.join("bootx64.manifest.toml"),
    };
    std::fs::write(&b.tarball, b"\xfd7zXZ\0 stand-in tarball").unwrap();
    std::fs::write(&b.efi, b"MZ stand-in EFI application").unwrap();
    std::fs::write(&b.manifest, b"# manifest\ntarget = \"x86_64\"\n").unwrap();
    let used = lock
        .component
        .iter()
        .map(|(name, c)| SourceUsed {
            component: name.clone(),
            index: 0,
            sha256: c.source[0].sha256.clone().unwrap(),
            patches: Vec::new(),
        })
        .collect();
    (b, used)
}

fn run(cmd: &mut Command, what: &str) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}): install it (Debian: apt-get install {what}; `cargo xtask host-deps --test` does)")
    });
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_signed_release_checks_out_with_sha256sum_and_sqv() {
    let (_t, dir) = tmp();
    let lock = real_lock();
    let (b, used) = built(&dir.join("build"), &lock);
    let cert = generated_key("gen-kexec release test <release@invalid>");
    let key = sign::from_cert(&cert, "test key").unwrap();
    let out = dir.join("dist");
    let release = collect(&b, &lock, &used, 1735689600, Some(&key), &out).unwrap();

    let names: Vec<&str> = release.files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "bootx64.efi",
            "bootx64.manifest.toml",
            "efi.tar.xz",
            sbom::FILE
        ]
    );
    assert_eq!(
        release.signed_by.as_deref(),
        Some(cert.fingerprint().to_hex().as_str())
    );
    assert_eq!(
        std::fs::read(out.join("efi.tar.xz")).unwrap(),
        std::fs::read(&b.tarball).unwrap()
    );

    let (ok, text) = run(
        Command::new("sha256sum")
            .arg("-c")
            .arg(SUMS)
            .current_dir(&out),
        "coreutils",
    );
    assert!(ok, "sha256sum -c: {text}");
    assert_eq!(text.matches(": OK").count(), 4, "{text}");

    let keyring = dir.join("release-key.asc");
    std::fs::write(&keyring, cert.armored().to_vec().unwrap()).unwrap();
    let sqv = |sums: &Utf8Path| {
        run(
            Command::new("sqv")
                .arg("--keyring")
                .arg(&keyring)
                .arg(out.join(SUMS_SIGNATURE))
                .arg(sums),
            "sqv",
        )
    };
    let (ok, text) = sqv(&out.join(SUMS));
    assert!(ok, "sqv: {text}");
    assert!(text.contains(&cert.fingerprint().to_hex()), "{text}");

    // sqv is not fooled by modified sums.
    let forged = dir.join("SHA256SUMS.forged");
    let sums = std::fs::read_to_string(out.join(SUMS)).unwrap();
    std::fs::write(&forged, sums.replacen('a', "b", 1)).unwrap();
    let (ok, text) = sqv(&forged);
    assert!(!ok, "sqv accepted modified sums: {text}");
}

#[test]
fn without_a_key_the_release_is_unsigned_deterministic_and_an_old_signature_goes() {
    let (_t, dir) = tmp();
    let lock = real_lock();
    let (b, used) = built(&dir.join("build"), &lock);
    let (out1, out2) = (dir.join("one"), dir.join("two"));
    std::fs::create_dir_all(&out1).unwrap();
    std::fs::write(out1.join(SUMS_SIGNATURE), b"stale").unwrap();
    let r1 = collect(&b, &lock, &used, 1735689600, None, &out1).unwrap();
    let r2 = collect(&b, &lock, &used, 1735689600, None, &out2).unwrap();
    assert!(r1.signed_by.is_none());
    assert!(
        !out1.join(SUMS_SIGNATURE).exists(),
        "the stale signature is gone"
    );
    for f in [SUMS, sbom::FILE] {
        assert_eq!(
            std::fs::read(out1.join(f)).unwrap(),
            std::fs::read(out2.join(f)).unwrap(),
            "{f} is deterministic"
        );
    }
    assert_eq!(r1.files, r2.files);
    // Collecting in place (the build wrote into dist/ already) works too.
    let r3 = collect(
        &Built {
            tarball: out1.join("efi.tar.xz"),
            efi: out1.join("bootx64.efi"),
            manifest: out1.join("bootx64.manifest.toml"),
        },
        &lock,
        &used,
        1735689600,
        None,
        &out1,
    )
    .unwrap();
    assert_eq!(r3.files, r1.files);
}

/// The vendored CycloneDX 1.5 schema, with the two schemas it refers to.
fn cyclonedx_validator() -> jsonschema::Validator {
    let dir = workspace_root().join("xtask/schemas/cyclonedx-1.5");
    let load = |f: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap()
    };
    let mut options = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true);
    for f in ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"] {
        options = options.with_resource(
            format!("http://cyclonedx.org/schema/{f}"),
            jsonschema::Resource::from_contents(load(f)),
        );
    }
    options
        .build(&load("bom-1.5.SNAPSHOT.schema.json"))
        .expect("the vendored schema compiles")
}

fn schema_errors(v: &jsonschema::Validator, bom: &serde_json::Value) -> Vec<String> {
    v.iter_errors(bom)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_sbom_validates_against_cyclonedx_1_5_and_lists_every_source() {
    let (_t, dir) = tmp();
    let lock = real_lock();
    let (b, used) = built(&dir.join("build"), &lock);
    collect(&b, &lock, &used, 1735689600, None, &dir.join("dist")).unwrap();
    let bom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dist").join(sbom::FILE)).unwrap()).unwrap();
    let v = cyclonedx_validator();
    assert_eq!(schema_errors(&v, &bom), Vec::<String>::new());

    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["metadata"]["timestamp"], "2025-01-01T00:00:00Z");
    assert_eq!(
        bom["metadata"]["component"]["hashes"][0]["content"],
        crate::stamp::sha256_file(&b.tarball).unwrap()
    );
    let comps = bom["components"].as_array().unwrap();
    for (name, c) in lock.required() {
        let found = comps
            .iter()
            .find(|x| x["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} missing from the SBOM"));
        let src = &c.source[0];
        assert_eq!(found["version"], c.version.as_str(), "{name}");
        assert_eq!(
            found["licenses"][0]["license"]["id"],
            c.license.as_str(),
            "{name}"
        );
        assert_eq!(found["hashes"][0]["alg"], "SHA-256");
        assert_eq!(
            found["hashes"][0]["content"],
            src.sha256.as_deref().unwrap()
        );
        assert_eq!(found["externalReferences"][0]["url"], src.urls[0].as_str());
        assert_eq!(found["externalReferences"][0]["type"], "distribution");
    }

    // The check is not vacuous: a licence that is not an SPDX id, a
    // missing name or a bad hash each fail it.
    for (path, bad) in [
        (
            "/components/1/licenses/0/license/id",
            serde_json::json!("GPL-2-ish"),
        ),
        ("/components/1/hashes/0/content", serde_json::json!("xyz")),
        ("/metadata/timestamp", serde_json::json!("yesterday")),
    ] {
        let mut broken = bom.clone();
        *broken.pointer_mut(path).unwrap() = bad;
        assert!(!schema_errors(&v, &broken).is_empty(), "{path} accepted");
    }
    let mut broken = bom.clone();
    broken["components"][1]
        .as_object_mut()
        .unwrap()
        .remove("name");
    assert!(
        !schema_errors(&v, &broken).is_empty(),
        "a nameless component accepted"
    );
}

#[test]
fn a_source_that_does_not_match_the_lock_is_refused() {
    let (_t, dir) = tmp();
    let lock = real_lock();
    let (b, mut used) = built(&dir.join("build"), &lock);
    used[0].sha256 = "0".repeat(64);
    let err = format!(
        "{:#}",
        collect(&b, &lock, &used, 0, None, &dir.join("dist")).unwrap_err()
    );
    assert!(err.contains("sources.lock pins"), "{err}");
    used.remove(0);
    let err = format!(
        "{:#}",
        collect(&b, &lock, &used, 0, None, &dir.join("dist")).unwrap_err()
    );
    assert!(err.contains("no source recorded"), "{err}");
}

#[test]
fn a_public_key_or_garbage_is_not_a_signing_key() {
    let cert = generated_key("public only <p@invalid>");
    let public = cert.armored().to_vec().unwrap();
    let err = format!("{:#}", sign::from_bytes(&public, "pub.asc").unwrap_err());
    assert!(
        err.contains("pub.asc") && err.contains("no usable secret signing key"),
        "{err}"
    );
    let err = format!("{:#}", sign::from_bytes(b"hello", "junk.asc").unwrap_err());
    assert!(
        err.contains("junk.asc") && err.contains("not an OpenPGP key"),
        "{err}"
    );
    let secret = cert.as_tsk().armored().to_vec().unwrap();
    assert_eq!(
        sign::from_bytes(&secret, "key.asc").unwrap().fingerprint,
        cert.fingerprint().to_hex()
    );
}
