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
    let mut src = source("pkg-1.0.tar.gz", &data, vec![]);
    src.sha256_origin = Some("the upstream release announcement".to_owned());
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
        err.contains("pinned from: the upstream release announcement"),
        "says where the pin comes from: {err}"
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
    let record = std::fs::read_to_string(f.cache.join(RECORD_FILE)).unwrap_or_default();
    assert!(
        !record.contains(path.as_str()),
        "the bad file is not remembered: {record}"
    );
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

/// `pkg-1.0/README` holding `text`, as a .tar.gz.
fn tar_gz(text: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(text.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "pkg-1.0/README", text).unwrap();
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

/// The quick check trusts an unchanged (device, inode, size, mtime, ctime).
/// A change it cannot see (a write to the raw disk, bit rot, a filesystem
/// that does not keep ctime; simulated by forging the record) is still
/// caught by `verify` and by unpacking, which hash the bytes themselves.
#[test]
fn a_change_the_record_cannot_see_is_caught_by_verify_and_by_unpacking() {
    let f = Fixture::new();
    let good = tar_gz(b"pinned\n");
    let path = write(&f.cache, "pkg-1.0.tar.gz", &good);
    let src = source("pkg-1.0.tar.gz", &good, vec![]);
    let fetched = {
        let ctx = f.ctx(&[], Mode::Fetch);
        let row = ctx.fetch_component("pkg", &component(src.clone())).unwrap();
        assert_eq!(row.sha256, "ok", "hashed on first sight");
        ctx.save_record().unwrap();
        row.fetched.unwrap()
    };
    // Replace the content, then forge the record so it matches again.
    std::fs::write(&path, tar_gz(b"evil!!\n")).unwrap();
    {
        let ctx = f.ctx(&[], Mode::Fetch);
        let id = crate::fetch::record::FileId::of(&path).unwrap();
        ctx.record
            .borrow_mut()
            .remember_sha256(&path, id, &fetched.sha256);
        ctx.save_record().unwrap();
    }
    let ctx = f.ctx(&[], Mode::Fetch);
    let row = ctx.fetch_component("pkg", &component(src.clone())).unwrap();
    assert_eq!(row.sha256, super::super::report::UNCHANGED, "fooled");
    let again = row.fetched.unwrap();
    assert_eq!(again.sha256, fetched.sha256);

    let dest = f.root.join("src/pkg");
    let err = crate::extract::unpack(&again.path, &again.sha256, &dest, &[]).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("sha256 mismatch") && err.contains(path.as_str()),
        "{err}"
    );
    assert!(!dest.exists() && !f.root.join("src/pkg.partial").exists());

    let err = f
        .ctx(&[], Mode::Verify)
        .fetch_component("pkg", &component(src))
        .unwrap_err();
    assert!(format!("{err:#}").contains("sha256 mismatch"), "{err:#}");
    assert!(!path.exists(), "verify deleted the bad file from the cache");
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
