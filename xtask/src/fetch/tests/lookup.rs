//! Finding files in the cache and in read-only mirrors, by sha256.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::fetch::record::RECORD_FILE;

#[test]
fn a_mirror_file_is_used_in_place_and_never_copied() {
    let f = Fixture::new();
    let data = content(5000);
    let path = write(&f.mirror, "pkg-1.0.tar.gz", &data);
    let mirrors = [f.mirror.clone()];
    let ctx = f.ctx(&mirrors, Mode::Fetch);
    let row = ctx
        .fetch_component("pkg", &component(source("pkg-1.0.tar.gz", &data, vec![])))
        .unwrap();
    let fetched = row.fetched.unwrap();
    assert_eq!(fetched.path, path);
    assert_eq!(fetched.sha256, crate::stamp::sha256_bytes(&data));
    assert!(row.origin.starts_with("mirror "), "{}", row.origin);
    assert!(f.cache_files().is_empty());
}

#[test]
fn debians_renamed_orig_tarball_is_found_by_its_sha256() {
    let f = Fixture::new();
    let data = content(5000);
    // Same name scheme, other content: hashed and passed over.
    write(&f.mirror, "other_1.0.orig.tar.gz", &content(77));
    let path = write(&f.mirror, "pkg_1.0.orig.tar.gz", &data);
    let mirrors = [f.mirror.clone()];
    let mut src = source("pkg-1.0.tar.gz", &data, vec![]);
    src.debian = Some("pkg=1:1.0-3".to_owned());
    let row = f
        .ctx(&mirrors, Mode::Fetch)
        .fetch_component("pkg", &component(src))
        .unwrap();
    assert_eq!(row.fetched.unwrap().path, path);
}

#[test]
fn a_flipped_byte_in_a_mirror_fails_and_leaves_the_mirror_alone() {
    let f = Fixture::new();
    let data = content(5000);
    let mut bad = data.clone();
    bad[100] ^= 1;
    let path = write(&f.mirror, "pkg-1.0.tar.gz", &bad);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mirrors = [f.mirror.clone()];
    let src = source("pkg-1.0.tar.gz", &data, vec![]);
    let err = format!(
        "{:#}",
        f.ctx(&mirrors, Mode::Fetch)
            .fetch_component("pkg", &component(src.clone()))
            .unwrap_err()
    );
    assert!(err.contains(path.as_str()), "names the file: {err}");
    assert!(
        err.contains(src.sha256.as_deref().unwrap()),
        "expected sha256: {err}"
    );
    assert!(
        err.contains(&crate::stamp::sha256_bytes(&bad)),
        "actual sha256: {err}"
    );
    assert!(
        err.contains("likely cause") && err.contains("mirror"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bad,
        "the mirror is read-only"
    );
    assert!(f.cache_files().is_empty());
}

#[test]
fn a_damaged_cache_file_is_deleted_and_reported() {
    let f = Fixture::new();
    let data = content(5000);
    let path = write(&f.cache, "pkg-1.0.tar.gz", &data);
    let src = source("pkg-1.0.tar.gz", &data, vec![]);
    {
        let ctx = f.ctx(&[], Mode::Fetch);
        ctx.fetch_component("pkg", &component(src.clone())).unwrap();
        ctx.save_record().unwrap();
    }
    // Damage it behind the record's back (the size and mtime change too).
    write(&f.cache, "pkg-1.0.tar.gz", &data[..4000]);
    let ctx = f.ctx(&[], Mode::Fetch);
    let err = format!(
        "{:#}",
        ctx.fetch_component("pkg", &component(src)).unwrap_err()
    );
    assert!(
        err.contains("sha256 mismatch") && err.contains(path.as_str()),
        "{err}"
    );
    assert!(err.contains("has been deleted"), "{err}");
    assert!(!path.exists());
}

#[test]
fn the_record_spares_rehashing_but_verify_rehashes() {
    let f = Fixture::new();
    let data = content(5000);
    let path = write(&f.cache, "pkg-1.0.tar.gz", &data);
    let src = source("pkg-1.0.tar.gz", &data, vec![]);
    {
        let ctx = f.ctx(&[], Mode::Fetch);
        ctx.fetch_component("pkg", &component(src.clone())).unwrap();
        ctx.save_record().unwrap();
    }
    let record = std::fs::read_to_string(f.cache.join(RECORD_FILE)).unwrap();
    assert!(
        record.contains(src.sha256.as_deref().unwrap()) && record.contains(path.as_str()),
        "{record}"
    );
    // Same size, same mtime, different bytes: only a rehash can tell.
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bad = data.clone();
    bad[0] ^= 1;
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::io::Write::write_all(&mut &file, &bad).unwrap();
    file.set_modified(mtime).unwrap();
    drop(file);
    // The ctime changed, so even `fetch` notices...
    let err = f
        .ctx(&[], Mode::Fetch)
        .fetch_component("pkg", &component(src.clone()));
    assert!(format!("{:#}", err.unwrap_err()).contains("sha256 mismatch"));
    // ...and `verify` never trusts the record at all.
    write(&f.cache, "pkg-1.0.tar.gz", &data);
    let ctx = f.ctx(&[], Mode::Verify);
    ctx.record.borrow_mut().remember_sha256(
        &path,
        crate::fetch::record::FileId::of(&path).unwrap(),
        &"0".repeat(64),
    );
    assert!(
        ctx.fetch_component("pkg", &component(src)).is_ok(),
        "verify rehashed"
    );
}

#[test]
fn a_missing_mirror_directory_is_an_error() {
    let f = Fixture::new();
    let mirrors = [f.mirror.join("typo")];
    let err = Ctx::with(&f.root, &f.cache, &mirrors, Mode::Fetch)
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("typo is not a directory"),
        "{err:#}"
    );
}
