//! The `apt-get source` fallback against a local HTTP server laid out like
//! a Debian archive (dists/SUITE/InRelease clearsigned by a test key made
//! here with gpg, main/source/Sources, pool/), through the private apt
//! configuration under the cache: the pinned file is found and verified,
//! the suite is named; a keyring that did not sign the Release is refused.

use std::process::Command;

use super::*;
use crate::fetch::apt::Archive;

fn run(c: &mut Command) -> Vec<u8> {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn md5(path: &Utf8Path) -> String {
    let out = run(Command::new("md5sum").arg(path));
    String::from_utf8(out)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// A one-package archive in `dir` signed by a fresh key; returns the
/// keyring (binary, for `signed-by=`).
fn archive(dir: &Utf8Path, orig: &[u8]) -> Utf8PathBuf {
    let pool = dir.join("pool/main/p/pkg");
    std::fs::create_dir_all(&pool).unwrap();
    write(&pool, "pkg_1.0.orig.tar.gz", orig);
    write(&pool, "pkg_1.0-1.debian.tar.xz", b"debian dir");
    write(
        &pool,
        "pkg_1.0-1.dsc",
        b"Format: 3.0 (quilt)\nSource: pkg\n",
    );
    let mut files = String::new();
    let mut sha = String::new();
    for name in [
        "pkg_1.0-1.dsc",
        "pkg_1.0.orig.tar.gz",
        "pkg_1.0-1.debian.tar.xz",
    ] {
        let p = pool.join(name);
        let len = std::fs::metadata(&p).unwrap().len();
        files += &format!(" {} {len} {name}\n", md5(&p));
        sha += &format!(" {} {len} {name}\n", crate::stamp::sha256_file(&p).unwrap());
    }
    let sources = format!(
        "Package: pkg\nBinary: pkg\nVersion: 1.0-1\nMaintainer: Test <t@example.invalid>\n\
         Architecture: any\nFormat: 3.0 (quilt)\nDirectory: pool/main/p/pkg\n\
         Files:\n{files}Checksums-Sha256:\n{sha}\n"
    );
    let dists = dir.join("dists/trixie");
    std::fs::create_dir_all(dists.join("main/source")).unwrap();
    let idx = write(&dists.join("main/source"), "Sources", sources.as_bytes());
    let release = format!(
        "Origin: Test\nLabel: Test\nSuite: trixie\nCodename: trixie\n\
         Date: Sat, 01 Jan 2000 00:00:00 UTC\nArchitectures: amd64\nComponents: main\n\
         SHA256:\n {} {} main/source/Sources\n",
        crate::stamp::sha256_file(&idx).unwrap(),
        sources.len()
    );
    write(&dists, "Release", release.as_bytes());
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let gpg = || {
        let mut c = Command::new("gpg");
        c.args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        c.env("GNUPGHOME", &home);
        c
    };
    run(gpg().args([
        "--quick-gen-key",
        "gen-kexec test archive",
        "ed25519",
        "sign",
        "never",
    ]));
    run(gpg()
        .args(["--clearsign", "-o"])
        .arg(dists.join("InRelease"))
        .arg(dists.join("Release")));
    let keyring = dir.join("test-archive.gpg");
    std::fs::write(&keyring, run(gpg().arg("--export"))).unwrap();
    keyring
}

fn serve(dir: Utf8PathBuf) -> Server {
    Server::start(
        move |req, _| match std::fs::read(dir.join(req.path.trim_start_matches('/'))) {
            Ok(bytes) => body(&bytes),
            Err(_) => Reply::Status(404),
        },
    )
}

fn apt_source(orig: &[u8]) -> Source {
    Source {
        debian: Some("pkg=1.0-1".to_owned()),
        ..source("pkg-1.0.tar.gz", orig, Vec::new())
    }
}

#[test]
fn apt_get_source_through_a_private_config_finds_the_pinned_file() {
    let f = Fixture::new();
    let orig = content(20_000);
    let dir = f.root.join("archive");
    let keyring = archive(&dir, &orig);
    let server = serve(dir);
    let mut ctx = f.ctx(&[], Mode::Fetch);
    ctx.apt = true;
    ctx.debian = Archive {
        url: server.base.clone(),
        keyring,
        suites: None,
    };
    let row = ctx
        .fetch_component("pkg", &component(apt_source(&orig)))
        .unwrap();
    assert_eq!(row.origin, "apt-get source pkg=1.0-1 (trixie)");
    assert_eq!(std::fs::read(f.cache.join("pkg-1.0.tar.gz")).unwrap(), orig);
    let list = std::fs::read_to_string(f.cache.join(".apt/trixie/sources.list")).unwrap();
    assert!(list.starts_with("deb-src [signed-by="), "{list}");
}

#[test]
fn a_release_not_signed_by_the_keyring_is_refused() {
    let f = Fixture::new();
    let orig = content(5_000);
    let dir = f.root.join("archive");
    archive(&dir, &orig);
    let other = archive(&f.root.join("other"), b"x");
    let server = serve(dir);
    let mut ctx = f.ctx(&[], Mode::Fetch);
    ctx.apt = true;
    ctx.debian = Archive {
        url: server.base.clone(),
        keyring: other,
        suites: Some(vec!["trixie".to_owned()]),
    };
    let err = ctx
        .fetch_component("pkg", &component(apt_source(&orig)))
        .unwrap_err();
    assert!(format!("{err:#}").contains("apt-get"), "{err:#}");
    assert!(!f.cache.join("pkg-1.0.tar.gz").exists());
}
