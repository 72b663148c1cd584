//! The workspace the kernel.org bump tests run in: a test sources.lock
//! (Debian and kernel.org alternatives for linux, unsigned kexec-tools,
//! musl signed over the file) whose URLs point at the local server, a
//! generated signing key pinned in it, and made-up kernel releases.

use std::io::Write;

use camino::Utf8PathBuf;
use sequoia_openpgp::serialize::SerializeInto;
use sequoia_openpgp::Cert;

use super::*;
use crate::release::tests::generated_key;

/// A made-up kernel release: (tar, tar.xz).
pub fn kernel_release(version: &str, makefile: &str) -> (Vec<u8>, Vec<u8>) {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        (format!("linux-{version}/Makefile"), makefile.as_bytes()),
        (
            format!("linux-{version}/README"),
            b"Linux kernel\n".as_slice(),
        ),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(&tar).unwrap();
    (tar, e.finish().unwrap())
}

/// A workspace root and download cache of its own, and the local server
/// its lock points at.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub root: Utf8PathBuf,
    pub cache: Utf8PathBuf,
    pub base: String,
    files: Files,
    pub key: Cert,
}

const KEXEC_OLD: &[u8] = b"kexec-tools 2.0.1 tarball";

impl Fixture {
    /// A workspace whose lock has a Debian-style linux 6.1.1 alternative
    /// (sha256 only), a kernel.org one (signature only, pinned to the
    /// generated key) and an unsigned kexec-tools.
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Utf8PathBuf::from_path_buf(tmp.path().to_owned()).unwrap();
        let (root, cache) = (dir.join("root"), dir.join("cache"));
        std::fs::create_dir_all(root.join("keys")).unwrap();
        let key = generated_key("stable signer <stable@invalid>");
        std::fs::write(
            root.join("keys/stable.asc"),
            key.armored().to_vec().unwrap(),
        )
        .unwrap();
        let (base, files) = serve();
        let f = Fixture {
            _tmp: tmp,
            root,
            cache,
            base,
            files,
            key,
        };
        std::fs::write(f.lock_path(), f.lock_text()).unwrap();
        f
    }

    pub fn lock_path(&self) -> Utf8PathBuf {
        self.root.join(LOCK_FILE)
    }

    pub fn lock_text(&self) -> String {
        let (base, fpr) = (&self.base, self.key.fingerprint().to_hex());
        let kexec = crate::stamp::sha256_bytes(KEXEC_OLD);
        format!(
            r#"# a test lock
schema = 1
source_date_epoch = 1735689600

[component.kexec-tools]
version = "2.0.1"
license = "GPL-2.0-only"
dir = "kexec-tools-2.0.1"

[[component.kexec-tools.source]]
file = "kexec-tools-2.0.1.tar.xz"
sha256 = "{kexec}"
sha256_origin = "a test"
urls = ["{base}/kexec/kexec-tools-2.0.1.tar.xz"]

[component.linux]
version = "6.1.1" # LTS
license = "GPL-2.0-only"
dir = "linux-6.1.1"

# Debian's repack of v6.1.1.
[[component.linux.source]]
file = "linux_6.1.1.orig.tar.xz"
sha256 = "{zero}"
sha256_origin = "a test"
urls = ["{base}/debian/linux_6.1.1.orig.tar.xz"]
debian = "linux=6.1.1-1"

# kernel.org's tarball, signed over the uncompressed tar.
[[component.linux.source]]
file = "linux-6.1.1.tar.xz"
urls = ["{base}/pub/v6.x/linux-6.1.1.tar.xz"]

[component.linux.source.signature]
file = "linux-6.1.1.tar.sign"
urls = ["{base}/pub/v6.x/linux-6.1.1.tar.sign"]
covers = "uncompressed-tar"
keyring = "keys/stable.asc"
signers = [
  "{fpr}", # the test's stable signer
]

[component.musl]
version = "1.0.0"
license = "MIT"
dir = "musl-1.0.0"

[[component.musl.source]]
file = "musl-1.0.0.tar.gz"
sha256 = "{zero}"
sha256_origin = "a test"
urls = ["{base}/releases/musl-1.0.0.tar.gz"]

[component.musl.source.signature]
file = "musl-1.0.0.tar.gz.asc"
urls = ["{base}/releases/musl-1.0.0.tar.gz.asc"]
sha256 = "{zero}"
covers = "file"
keyring = "keys/stable.asc"
signers = ["{fpr}"]
"#,
            zero = "0".repeat(64)
        )
    }

    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_owned(), bytes);
    }

    /// Serve linux `version`: the tarball and `sig` (over what the caller chose).
    pub fn publish(&self, version: &str, xz: Vec<u8>, sig: Vec<u8>) {
        self.put(&format!("/pub/v6.x/linux-{version}.tar.xz"), xz);
        self.put(&format!("/pub/v6.x/linux-{version}.tar.sign"), sig);
    }

    pub fn bump(
        &self,
        name: &str,
        version: &str,
        allow_unsigned: bool,
        dry_run: bool,
    ) -> Result<Outcome> {
        let env = Env {
            root: &self.root,
            cache: &self.cache,
            mirrors: &[],
            tune: fast_http,
        };
        bump(&env, name, version, allow_unsigned, dry_run)
    }

    pub fn cache_files(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.cache) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    /// The refusal leaves the lock byte-for-byte and the cache as they were.
    pub fn assert_untouched(&self, before: &[u8]) {
        assert_eq!(
            std::fs::read(self.lock_path()).unwrap(),
            before,
            "lock changed"
        );
        assert_eq!(self.cache_files(), Vec::<String>::new(), "cache changed");
    }
}
