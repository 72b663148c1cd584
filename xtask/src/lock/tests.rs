use super::*;

const GOOD: &str = r#"
schema = 1
source_date_epoch = 1

[component.demo]
version = "1.0"
license = "MIT"
dir = "demo-1.0"

[[component.demo.source]]
file = "demo-1.0.tar.gz"
sha256 = "a9a118bbe84d8764da0ea0d28b3ab3fae8477fc7e4085d90102b8596fc7c75e4"
urls = ["https://example.org/demo-1.0.tar.gz"]
"#;

fn err(text: &str) -> String {
    format!("{:#}", Lock::parse(text).unwrap_err())
}

#[test]
fn the_repository_lock_parses() {
    let path = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../sources.lock");
    let lock = Lock::load(&path).unwrap();
    for name in ["linux", "busybox", "kexec-tools", "musl"] {
        assert!(lock.component.contains_key(name), "{name} missing");
    }
    assert_eq!(lock.get("linux").unwrap().source.len(), 2);
    let musl_sig = lock.get("musl").unwrap().source[0]
        .signature
        .as_ref()
        .unwrap();
    assert_eq!(musl_sig.covers, Covers::File);
}

#[test]
fn a_minimal_lock_parses() {
    let lock = Lock::parse(GOOD).unwrap();
    assert_eq!(lock.get("demo").unwrap().version, "1.0");
    assert!(format!("{:#}", lock.get("nope").unwrap_err()).contains("known: demo"));
}

#[test]
fn bad_hex_is_named() {
    let e = err(&GOOD.replace("a9a118bb", "A9A118BB"));
    assert!(e.contains("component.demo"), "{e}");
    assert!(e.contains("expected 64 lower-case hex digits"), "{e}");
    let e = err(&GOOD.replace("a9a118bb", "a9a118b"));
    assert!(e.contains("63 characters"), "{e}");
}

#[test]
fn missing_field_is_named() {
    let e = err(&GOOD.replace("license = \"MIT\"\n", ""));
    assert!(e.contains("missing field `license`"), "{e}");
}

#[test]
fn unknown_key_is_named() {
    let e = err(&GOOD.replace("license = \"MIT\"", "license = \"MIT\"\nlicence = \"MIT\""));
    assert!(e.contains("unknown field `licence`"), "{e}");
    assert!(e.contains("line"), "{e}");
}

#[test]
fn unpinned_source_is_refused() {
    let text = GOOD.replace(
        "sha256 = \"a9a118bbe84d8764da0ea0d28b3ab3fae8477fc7e4085d90102b8596fc7c75e4\"\n",
        "",
    );
    assert!(err(&text).contains("neither `sha256` nor `signature`"));
}

#[test]
fn bad_signer_and_url_are_refused() {
    let text = format!(
        "{GOOD}\n[component.demo.source.signature]\nfile = \"x.asc\"\ncovers = \"file\"\nkeyring = \"keys/k.asc\"\nsigners = [\"1234\"]\n"
    );
    assert!(err(&text).contains("40-digit hex"));
    let text = GOOD.replace("https://example.org", "ftp://example.org");
    assert!(err(&text).contains("expected an http:// or https:// URL"));
    let text = GOOD.replace("file = \"demo-1.0.tar.gz\"", "file = \"../demo.tar.gz\"");
    assert!(err(&text).contains("plain file name"));
}

/// The Gentoo minimal ISO as the lock's template in sources.lock describes
/// it: optional, no `dir`, pinned by a clearsigned DIGESTS file.
const GENTOO: &str = r#"
[component.gentoo-minimal-iso]
version = "20251123T170346Z"
license = "GPL-2.0-only AND LicenseRef-Gentoo-ISO"
optional = true

[[component.gentoo-minimal-iso.source]]
file = "install-amd64-minimal-20251123T170346Z.iso"
urls = ["https://distfiles.gentoo.org/releases/amd64/autobuilds/20251123T170346Z/install-amd64-minimal-20251123T170346Z.iso"]

[component.gentoo-minimal-iso.source.signature]
file = "install-amd64-minimal-20251123T170346Z.iso.DIGESTS"
urls = ["https://distfiles.gentoo.org/releases/amd64/autobuilds/20251123T170346Z/install-amd64-minimal-20251123T170346Z.iso.DIGESTS"]
covers = "digests"
keyring = "keys/gentoo-release.asc"
signers = ["13EBBDBEDE7A12775DFDB1BABB572E0E2D182910"]
"#;

#[test]
fn an_optional_component_parses_and_is_not_required() {
    let lock = Lock::parse(&format!("{GOOD}{GENTOO}")).unwrap();
    let c = lock.get("gentoo-minimal-iso").unwrap();
    assert!(c.optional && c.dir.is_none());
    let sig = c.source[0].signature.as_ref().unwrap();
    assert_eq!(sig.covers, Covers::Digests);
    let required: Vec<&str> = lock.required().map(|(n, _)| n.as_str()).collect();
    assert_eq!(required, ["demo"]);
    assert_eq!(lock.optional_names(), ["gentoo-minimal-iso"]);
    assert!(
        !lock.get("demo").unwrap().optional,
        "the default is required"
    );
}

#[test]
fn only_an_optional_component_may_leave_out_dir() {
    let e = err(&GOOD.replace("dir = \"demo-1.0\"\n", ""));
    assert!(
        e.contains("component.demo") && e.contains("no `dir`") && e.contains("optional"),
        "{e}"
    );
    // A lock of optional components only builds nothing.
    let only_optional = format!(
        "schema = 1\nsource_date_epoch = 1\n{}",
        GENTOO.replace("component.gentoo-minimal-iso", "component.iso")
    );
    assert!(err(&only_optional).contains("other than `optional` ones"));
}
