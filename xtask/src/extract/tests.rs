//! Extraction: a well-formed tarball in every compression, and crafted
//! tarballs that try to write outside the tree.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use camino::{Utf8Path, Utf8PathBuf};
use tar::{EntryType, Header};

/// `super::unpack` with the archive's own sha256: the structure tests.
fn unpack(archive: &Utf8Path, dest: &Utf8Path) -> anyhow::Result<()> {
    super::unpack(archive, &crate::stamp::sha256_file(archive)?, dest, &[])
}

/// One tar entry, written with raw header fields so that even names the
/// `tar` crate's builder refuses (`..`, absolute) can be crafted.
struct E {
    path: &'static str,
    kind: EntryType,
    link: &'static str,
    data: &'static [u8],
    mode: u32,
}

fn file(path: &'static str, data: &'static [u8]) -> E {
    E {
        path,
        kind: EntryType::Regular,
        link: "",
        data,
        mode: 0o664,
    }
}
fn dir(path: &'static str) -> E {
    E {
        path,
        kind: EntryType::Directory,
        link: "",
        data: b"",
        mode: 0o775,
    }
}
fn symlink(path: &'static str, link: &'static str) -> E {
    E {
        path,
        kind: EntryType::Symlink,
        link,
        data: b"",
        mode: 0o777,
    }
}
fn hardlink(path: &'static str, link: &'static str) -> E {
    E {
        path,
        kind: EntryType::Link,
        link,
        data: b"",
        mode: 0o644,
    }
}

fn tar_bytes(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = Header::new_old();
        {
            let old = h.as_old_mut();
            old.name[..e.path.len()].copy_from_slice(e.path.as_bytes());
            old.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        }
        h.set_entry_type(e.kind);
        h.set_size(e.data.len() as u64);
        h.set_mode(e.mode);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append(&h, e.data).unwrap();
    }
    b.into_inner().unwrap()
}

fn write(dir: &Utf8Path, name: &str, bytes: &[u8]) -> Utf8PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn tmp() -> (tempfile::TempDir, Utf8PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = Utf8PathBuf::from_path_buf(t.path().to_owned()).unwrap();
    (t, p)
}

fn good() -> Vec<u8> {
    tar_bytes(&[
        dir("pkg-1.0/"),
        file("pkg-1.0/README", b"hello\n"),
        dir("pkg-1.0/bin/"),
        E {
            mode: 0o775,
            ..file("pkg-1.0/bin/tool", b"#!/bin/sh\n")
        },
        symlink("pkg-1.0/bin/readme", "../README"),
        hardlink("pkg-1.0/README.copy", "pkg-1.0/README"),
    ])
}

fn compressed(kind: &str, tar: &[u8]) -> Vec<u8> {
    match kind {
        "tar" => tar.to_vec(),
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        _ => unreachable!(),
    }
}

#[test]
fn unpacks_every_compression_stripping_the_top_directory() {
    let (_t, dir) = tmp();
    let mut hashes = Vec::new();
    for kind in ["tar", "gz", "bz2", "xz"] {
        // A misleading name: the format is recognised by its magic bytes.
        let archive = write(
            &dir,
            &format!("src-{kind}.tar.gz"),
            &compressed(kind, &good()),
        );
        let dest = dir.join(format!("out-{kind}"));
        unpack(&archive, &dest).unwrap();
        assert_eq!(std::fs::read(dest.join("README")).unwrap(), b"hello\n");
        assert_eq!(std::fs::read(dest.join("README.copy")).unwrap(), b"hello\n");
        assert_eq!(std::fs::read(dest.join("bin/readme")).unwrap(), b"hello\n");
        let mode = |p: &str| {
            std::fs::metadata(dest.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("README"), 0o644);
        assert_eq!(mode("bin/tool"), 0o755);
        assert_eq!(mode("bin"), 0o755);
        let mtime = std::fs::metadata(dest.join("README"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(
            mtime,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)
        );
        assert!(!dir.join(format!("out-{kind}.partial")).exists());
        hashes.push(crate::stamp::tree_hash(&dest).unwrap());
    }
    assert!(
        hashes.windows(2).all(|w| w[0] == w[1]),
        "same tree whatever the compression"
    );
}

#[test]
fn replaces_an_existing_destination() {
    let (_t, dir) = tmp();
    let archive = write(&dir, "a.tar", &good());
    let dest = dir.join("out");
    std::fs::create_dir_all(dest.join("stale")).unwrap();
    unpack(&archive, &dest).unwrap();
    assert!(!dest.join("stale").exists());
    assert!(dest.join("README").is_file());
}

/// Unpacking `entries` fails with a message containing `needle`, and leaves
/// neither the destination nor a `.partial` behind, nor anything outside.
fn refused(entries: &[E], needle: &str) {
    let (_t, dir) = tmp();
    let archive = write(&dir, "evil.tar", &tar_bytes(entries));
    let dest = dir.join("work/out");
    std::fs::create_dir_all(dir.join("work")).unwrap();
    let err = format!("{:#}", unpack(&archive, &dest).unwrap_err());
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(
        err.contains("evil.tar"),
        "the error names the archive: {err}"
    );
    assert!(!dest.exists(), "nothing at the destination");
    assert!(!dir.join("work/out.partial").exists(), "no .partial left");
    let names: Vec<_> = std::fs::read_dir(dir.join("work")).unwrap().collect();
    assert!(
        names.is_empty(),
        "nothing written beside the destination: {names:?}"
    );
    assert!(!dir.join("x").exists() && !dir.join("work/x").exists());
}

#[test]
fn refuses_dot_dot() {
    refused(&[dir("p/"), file("p/../x", b"evil")], "`..`");
    refused(&[dir("p/"), file("p/a/../../../x", b"evil")], "`..`");
}

#[test]
fn refuses_absolute_paths() {
    refused(
        &[dir("p/"), file("/tmp/gen-kexec-evil", b"evil")],
        "absolute path",
    );
}

#[test]
fn refuses_symlinks_out_of_the_tree() {
    refused(
        &[dir("p/"), symlink("p/l", "/etc/passwd")],
        "absolute path `/etc/passwd`",
    );
    refused(
        &[dir("p/"), dir("p/d/"), symlink("p/d/l", "../../x")],
        "outside the tree",
    );
    // `..` after a name could climb out through another link.
    refused(
        &[dir("p/"), symlink("p/up", "."), symlink("p/l", "up/../..")],
        "after a directory name",
    );
}

#[test]
fn refuses_writing_through_a_symlink() {
    refused(
        &[
            dir("p/"),
            dir("p/d/"),
            symlink("p/l", "d"),
            file("p/l/x", b"evil"),
        ],
        "goes through the symbolic link `l`",
    );
}

#[test]
fn refuses_hardlinks_out_of_the_tree() {
    refused(
        &[dir("p/"), hardlink("p/h", "/etc/passwd")],
        "absolute path",
    );
    refused(&[dir("p/"), hardlink("p/h", "p/../../x")], "`..`");
    refused(
        &[dir("p/"), hardlink("p/h", "p/nothing")],
        "not a file extracted earlier",
    );
    refused(
        &[dir("p/"), symlink("p/l", "."), hardlink("p/h", "p/l")],
        "not a file extracted earlier",
    );
}

#[test]
fn refuses_device_nodes_and_fifos() {
    for kind in [EntryType::Char, EntryType::Block, EntryType::Fifo] {
        refused(
            &[
                dir("p/"),
                E {
                    kind,
                    ..file("p/dev", b"")
                },
            ],
            "device node or fifo",
        );
    }
}

#[test]
fn refuses_more_than_one_top_level_directory() {
    refused(
        &[dir("p/"), file("p/a", b"a"), file("q/b", b"b")],
        "single top-level directory",
    );
    refused(&[file("loose", b"a")], "single top-level directory");
}

#[test]
fn refuses_garbage() {
    let (_t, dir) = tmp();
    let archive = write(
        &dir,
        "junk.tar.xz",
        &[0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2, 3],
    );
    let err = format!("{:#}", unpack(&archive, &dir.join("out")).unwrap_err());
    assert!(err.contains("junk.tar.xz"), "{err}");
    assert!(!dir.join("out").exists() && !dir.join("out.partial").exists());
}

#[test]
fn refuses_an_archive_that_is_not_the_expected_bytes() {
    let (_t, dir) = tmp();
    let archive = write(&dir, "pkg-1.0.tar.gz", &compressed("gz", &good()));
    let actual = crate::stamp::sha256_file(&archive).unwrap();
    let expected = crate::stamp::sha256_bytes(b"the pinned tarball");
    let dest = dir.join("out");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join("earlier"), b"kept").unwrap();
    let err = format!(
        "{:#}",
        super::unpack(&archive, &expected, &dest, &[]).unwrap_err()
    );
    assert!(err.contains("sha256 mismatch for"), "{err}");
    assert!(err.contains("pkg-1.0.tar.gz"), "names the file: {err}");
    assert!(err.contains(&format!("expected {expected}")), "{err}");
    assert!(err.contains(&format!("actual   {actual}")), "{err}");
    assert!(err.contains("cargo xtask verify"), "says what to do: {err}");
    assert!(!dir.join("out.partial").exists(), "no .partial left");
    assert_eq!(
        std::fs::read(dest.join("earlier")).unwrap(),
        b"kept",
        "the destination is left as it was"
    );
}

#[test]
fn the_sha256_covers_bytes_after_the_end_of_the_tar() {
    let (_t, dir) = tmp();
    let tar = good();
    let mut appended = tar.clone();
    appended.extend_from_slice(&[0xa5; 100_000]);
    let archive = write(&dir, "pkg.tar", &appended);
    let dest = dir.join("out");
    let err = super::unpack(&archive, &crate::stamp::sha256_bytes(&tar), &dest, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("sha256 mismatch"), "{err:#}");
    assert!(!dest.exists());
    super::unpack(&archive, &crate::stamp::sha256_bytes(&appended), &dest, &[]).unwrap();
    assert!(dest.join("README").is_file());
}

const HELLO_PATCH: &str =
    "Subject: README says more\n\n--- a/README\n+++ b/README\n@@ -1 +1,2 @@\n hello\n+world\n";

#[test]
fn patches_are_applied_in_name_order_before_the_tree_takes_its_place() {
    let (_t, dir) = tmp();
    let archive = write(&dir, "a.tar", &good());
    let patches = dir.join("patches/pkg");
    std::fs::create_dir_all(&patches).unwrap();
    std::fs::write(patches.join("0001-more.patch"), HELLO_PATCH).unwrap();
    let second = "--- a/README\n+++ b/README\n@@ -1,2 +1,3 @@\n hello\n world\n+again\n";
    std::fs::write(patches.join("0002-again.patch"), second).unwrap();
    std::fs::write(patches.join("README.md"), "why these patches\n").unwrap();
    let list = super::patch::of(&dir, "pkg").unwrap();
    let names: Vec<&str> = list.iter().map(|p| p.file_name().unwrap()).collect();
    assert_eq!(names, ["0001-more.patch", "0002-again.patch"]);
    assert!(super::patch::of(&dir, "other").unwrap().is_empty());

    let dest = dir.join("out");
    let sha = crate::stamp::sha256_file(&archive).unwrap();
    super::unpack(&archive, &sha, &dest, &list).unwrap();
    assert_eq!(
        std::fs::read_to_string(dest.join("README")).unwrap(),
        "hello\nworld\nagain\n"
    );
    assert!(!dest.join("README.orig").exists() && !dest.join("README.rej").exists());
}

#[test]
fn a_patch_that_does_not_apply_leaves_the_destination_as_it_was() {
    let (_t, dir) = tmp();
    let archive = write(&dir, "a.tar", &good());
    let sha = crate::stamp::sha256_file(&archive).unwrap();
    let dest = dir.join("out");
    super::unpack(&archive, &sha, &dest, &[]).unwrap();
    std::fs::write(dest.join("marker"), "the old tree").unwrap();
    // Its context is not in the source; then one that is already applied.
    let stale = write(
        &dir,
        "0001-stale.patch",
        b"--- a/README\n+++ b/README\n@@ -1 +1 @@\n-goodbye\n+hello\n",
    );
    let twice = write(&dir, "0001-more.patch", HELLO_PATCH.as_bytes());
    for list in [vec![stale], vec![twice.clone(), twice]] {
        let err = format!(
            "{:#}",
            super::unpack(&archive, &sha, &dest, &list).unwrap_err()
        );
        assert!(err.contains(list[0].as_str()), "names the patch: {err}");
        assert!(err.contains("does not apply"), "{err}");
        assert!(dest.join("marker").is_file(), "the old tree stays: {err}");
        assert!(!dir.join("out.partial").exists(), "no .partial left");
    }
}

#[test]
fn a_stray_file_among_the_patches_is_refused() {
    let (_t, dir) = tmp();
    let patches = dir.join("patches/pkg");
    std::fs::create_dir_all(&patches).unwrap();
    std::fs::write(patches.join("0001-fix.diff"), HELLO_PATCH).unwrap();
    let err = format!("{:#}", super::patch::of(&dir, "pkg").unwrap_err());
    assert!(err.contains("0001-fix.diff: not a patch"), "{err}");
}

#[test]
fn every_patch_directory_belongs_to_a_sources_lock_component() {
    // Every patches/<component>/ belongs to a sources.lock entry (the
    // build applies them: `cargo xtask test` fails on a stale one).
    let ws = crate::recipes::testutil::ws();
    let lock = ws.lock().unwrap();
    for entry in std::fs::read_dir(ws.root.join("patches")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            lock.component.contains_key(&name),
            "patches/{name}: no component {name} in sources.lock"
        );
        assert!(!super::patch::of(&ws.root, &name).unwrap().is_empty());
    }
}
