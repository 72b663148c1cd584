//! `bump gentoo-minimal-iso STAMP` on the commented-out template of the
//! real sources.lock, uncommented as the README says, against a local
//! server laid out like distfiles.gentoo.org (`autobuilds/STAMP/...`) and a
//! key generated here standing in for the Gentoo release key.

use camino::Utf8PathBuf;
use sequoia_openpgp::serialize::SerializeInto;

use super::*;
use crate::fetch::digests::testkit::{clearsign, digests_text, gentoo_template};
use crate::release::tests::generated_key;

const STAMP: &str = "20990101T000000Z";
const GENTOO_FPR: &str = "13EBBDBEDE7A12775DFDB1BABB572E0E2D182910";

#[test]
fn the_template_is_pinned_by_bump_after_the_digests_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Utf8PathBuf::from_path_buf(tmp.path().to_owned()).unwrap();
    let (root, cache) = (dir.join("root"), dir.join("cache"));
    std::fs::create_dir_all(root.join("keys")).unwrap();
    let key = generated_key("release engineering <releng@invalid>");
    std::fs::write(
        root.join("keys/gentoo-release.asc"),
        key.armored().to_vec().unwrap(),
    )
    .unwrap();
    let (base, files) = serve();

    // The real lock, its template uncommented, pointing at the local server
    // and pinning the generated key instead of Gentoo's.
    let repo = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let real = std::fs::read_to_string(repo.join(LOCK_FILE)).unwrap();
    let template = gentoo_template(&real)
        .replace("https://distfiles.gentoo.org", &base)
        .replace(GENTOO_FPR, &key.fingerprint().to_hex());
    let lock_text = format!("{real}\n{template}");
    std::fs::write(root.join(LOCK_FILE), &lock_text).unwrap();

    let iso_name = format!("install-amd64-minimal-{STAMP}.iso");
    let iso = b"a bootable image, in a test".repeat(1000);
    let dir_url = format!("/releases/amd64/autobuilds/{STAMP}");
    let digests = clearsign(&key, &digests_text(&iso_name, &iso));
    let mut served = files.lock().unwrap();
    served.insert(format!("{dir_url}/{iso_name}"), iso.clone());
    served.insert(format!("{dir_url}/{iso_name}.DIGESTS"), digests);
    drop(served);

    let env = Env {
        root: &root,
        cache: &cache,
        mirrors: &[],
        tune: fast_http,
    };
    let o = bump(&env, "gentoo-minimal-iso", STAMP, false, false).unwrap();
    let sha = crate::stamp::sha256_bytes(&iso);
    assert_eq!(
        (o.old_version.as_str(), o.new_version.as_str()),
        ("STAMP", STAMP)
    );
    assert_eq!(o.pins[0].new.sha256.as_deref(), Some(sha.as_str()));

    let lock = Lock::load(&root.join(LOCK_FILE)).unwrap();
    let c = lock.get("gentoo-minimal-iso").unwrap();
    assert!(c.optional && c.dir.is_none());
    let src = &c.source[0];
    assert_eq!(src.file, iso_name);
    assert_eq!(src.urls, [format!("{base}{dir_url}/{iso_name}")]);
    assert_eq!(src.sha256.as_deref(), Some(sha.as_str()));
    let origin = src.sha256_origin.as_deref().unwrap();
    assert!(
        origin.contains(&format!(
            "{iso_name}.DIGESTS (listing the file's SHA512, which matched)"
        )),
        "{origin}"
    );
    // The other components are as they were.
    let old = Lock::parse(&real).unwrap();
    for (name, comp) in old.required() {
        assert_eq!(
            format!("{comp:?}"),
            format!("{:?}", lock.get(name).unwrap())
        );
    }

    // What `fetch gentoo-minimal-iso` now does: sha256 and DIGESTS both.
    let ctx = Ctx::with(&root, &cache, &[], Mode::Verify).unwrap();
    let row = ctx.fetch_component("gentoo-minimal-iso", c).unwrap();
    assert_eq!(row.sha256, "ok");
    assert_eq!(row.signer, Some(key.fingerprint().to_hex()));

    // A re-published, different image under the next stamp is refused.
    let next = "20990108T000000Z";
    let next_name = format!("install-amd64-minimal-{next}.iso");
    let next_dir = format!("/releases/amd64/autobuilds/{next}");
    let mut served = files.lock().unwrap();
    served.insert(format!("{next_dir}/{next_name}"), b"evil".to_vec());
    served.insert(
        format!("{next_dir}/{next_name}.DIGESTS"),
        clearsign(&key, &digests_text(&next_name, b"good")),
    );
    drop(served);
    let before = std::fs::read(root.join(LOCK_FILE)).unwrap();
    let e = format!(
        "{:#}",
        bump(&env, "gentoo-minimal-iso", next, false, false).unwrap_err()
    );
    assert!(
        e.contains("SHA512 mismatch") && e.contains("sources.lock is unchanged"),
        "{e}"
    );
    assert_eq!(std::fs::read(root.join(LOCK_FILE)).unwrap(), before);
}
