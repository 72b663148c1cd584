//! Fixtures for the `adapt_image` tests: a bootloader tarball made with
//! the tar and xz2 crates, an isolinux hybrid ISO made with xorriso and
//! isohdpfx.bin, MBR and GPT disks made with sfdisk, and a way to run
//! `cargo xtask` (optionally as an unprivileged user) and the real tools
//! users check images with.

#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// SOURCE_DATE_EPOCH for every run: 2024-01-02 03:04:05 UTC.
pub const EPOCH: &str = "1704164645";
pub const ISOHDPFX: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
pub const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
pub const LDLINUX_C32: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";

/// Fail clearly when a tool the test needs is missing.
pub fn need(tool: &str, package: &str) -> String {
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!("{tool} not found: install Debian's {package} (`cargo xtask host-deps --test`)");
}

fn need_file<'a>(path: &'a str, package: &str) -> &'a str {
    assert!(
        Path::new(path).exists(),
        "{path} not found: install Debian's {package} (`cargo xtask host-deps --test`)"
    );
    path
}

/// A temporary directory anyone may write to (for the unprivileged runs).
pub fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// efi.tar.xz with the given members (path, bytes), reproducibly.
pub fn tarball(dir: &Path, name: &str, members: &[(&str, Vec<u8>)]) -> PathBuf {
    let path = dir.join(name);
    let xz = xz2::write::XzEncoder::new(std::fs::File::create(&path).unwrap(), 6);
    let mut tar = tar::Builder::new(xz);
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(EPOCH.parse().unwrap());
        h.set_cksum();
        tar.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    chmod_readable(&path);
    path
}

/// A stand-in bootloader: 2.5 MB of deterministic bytes (like the real
/// ~2.5 MB bootx64.efi) and a small kexec.sourceme.
pub fn good_tarball(dir: &Path) -> PathBuf {
    tarball(
        dir,
        "efi.tar.xz",
        &[
            ("EFI/Boot/bootx64.efi", payload(2_500_000)),
            ("kexec.sourceme", b"# test\n".to_vec()),
        ],
    )
}

pub fn payload(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn chmod_readable(p: &Path) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// An isolinux hybrid ISO (xorriso + isohdpfx.bin) with `serial 0` in its
/// config so SeaBIOS runs show the isolinux prompt on the serial port.
pub fn hybrid_iso(dir: &Path) -> PathBuf {
    isolinux_iso(dir, "legacy.iso", true)
}

/// The same ISO, hybrid (an MBR from isohdpfx.bin) or CD-only.
pub fn isolinux_iso(dir: &Path, name: &str, hybrid: bool) -> PathBuf {
    let xorriso = need("xorriso", "xorriso");
    let tree = dir.join("iso-tree");
    std::fs::create_dir_all(tree.join("isolinux")).unwrap();
    std::fs::copy(
        need_file(ISOLINUX_BIN, "isolinux"),
        tree.join("isolinux/isolinux.bin"),
    )
    .unwrap();
    std::fs::copy(
        need_file(LDLINUX_C32, "syslinux-common"),
        tree.join("isolinux/ldlinux.c32"),
    )
    .unwrap();
    std::fs::write(
        tree.join("isolinux/isolinux.cfg"),
        "serial 0 115200\nsay gen-kexec test ISO: isolinux runs\nprompt 1\ntimeout 0\ndefault linux\n\
         label linux\n  kernel /isolinux/vmlinuz\n  append console=ttyS0\n",
    )
    .unwrap();
    std::fs::write(tree.join("isolinux/vmlinuz"), payload(300_000)).unwrap();
    let iso = dir.join(name);
    let mut cmd = Command::new(xorriso);
    cmd.args(["-as", "mkisofs", "-quiet", "-V", "GENKEXEC_TEST"]);
    if hybrid {
        cmd.args(["-isohybrid-mbr", need_file(ISOHDPFX, "isolinux")]);
    }
    let out = cmd
        .args([
            "-c",
            "isolinux/boot.cat",
            "-b",
            "isolinux/isolinux.bin",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
        ])
        .args(["-boot-info-table", "-o"])
        .arg(&iso)
        .arg(&tree)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xorriso: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    chmod_readable(&iso);
    iso
}

/// A sparse disk image of `size` bytes partitioned by sfdisk from `script`.
pub fn sfdisk_disk(dir: &Path, name: &str, size: u64, script: &str) -> PathBuf {
    let sfdisk = need("sfdisk", "fdisk");
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap().set_len(size).unwrap();
    let mut child = Command::new(sfdisk)
        .args(["--quiet", "--no-reread", "--no-tell-kernel"])
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sfdisk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    chmod_readable(&path);
    path
}

/// A GPT disk like a small Linux install: one 32 MiB Linux partition.
/// The disk GUID is fixed so the test is reproducible.
pub fn gpt_disk(dir: &Path) -> PathBuf {
    sfdisk_disk(
        dir,
        "disk-gpt.img",
        64 << 20,
        "label: gpt\nlabel-id: 0B7C52A4-6B0E-4C0B-9A43-1D0F7D7A1E55\n\
         start=2048, size=65536, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=3C2E9A2D-50B8-4C0B-8E1C-62A2A5A0B5B1\n",
    )
}

/// The hash `inspect --source-id` prints for a build of these sources.
fn source_id() -> String {
    use sha2::Digest;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/image");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    names.sort();
    let mut all = Vec::new();
    for n in names {
        all.extend_from_slice(n.as_bytes());
        all.push(0);
        all.extend_from_slice(&std::fs::read(dir.join(&n)).unwrap());
        all.push(0);
    }
    hex::encode(sha2::Sha256::digest(&all))
}

/// The xtask binary to test, hard-linked to a private name so it stays
/// put while the tests run (cargo unlinks, then links or copies).
///
/// Several worktrees share one CARGO_TARGET_DIR here, so `debug/xtask`
/// may be another worktree's build by the time the tests run. A build is
/// right when `inspect --source-id` matches the hash of src/image/*.rs:
/// `debug/xtask`, else the newest such build in `debug/deps`, else
/// `debug/xtask` built again by `cargo build`.
pub fn xtask_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let want = source_id();
        let matches = |p: &Path| {
            Command::new(p)
                .args(["inspect", "--source-id"])
                .output()
                .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == want)
        };
        let official = PathBuf::from(env!("CARGO_BIN_EXE_xtask"));
        let deps = official.parent().unwrap().join("deps");
        let mut builds: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&deps)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("xtask-") && !name.contains('.')
            })
            .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        builds.sort();
        let chosen = std::iter::once(official.clone())
            .chain(builds.into_iter().rev().map(|(_, p)| p))
            .find(|p| matches(p))
            .or_else(|| {
                // Rebuild it once: cargo does not lock the target directory
                // while tests run, so this cannot wait on our own cargo.
                let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let built = Command::new(cargo)
                    .args(["build", "--quiet", "--package", "xtask", "--bin", "xtask"])
                    .current_dir(root)
                    .status()
                    .is_ok_and(|s| s.success());
                (built && matches(&official)).then(|| official.clone())
            })
            .unwrap_or_else(|| {
                panic!(
                    "{} is not a build of these sources, even after rebuilding it (another worktree \
                     sharing CARGO_TARGET_DIR keeps building it); run the tests again",
                    official.display()
                )
            });
        let bin = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(concat!("xtask-for-", env!("CARGO_CRATE_NAME")));
        let _ = std::fs::remove_file(&bin);
        if std::fs::hard_link(&chosen, &bin).is_err() {
            std::fs::copy(&chosen, &bin).unwrap();
        }
        bin
    })
}

pub fn xtask() -> Command {
    let mut cmd = Command::new(xtask_bin());
    cmd.env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("GEN_KEXEC_MIRROR")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    cmd
}

/// `cargo xtask adapt-image INPUT -o OUTPUT --tarball T ARGS...`.
pub fn adapt(input: &Path, output: &Path, tarball: &Path, extra: &[&str]) -> Output {
    let mut cmd = xtask();
    cmd.arg("adapt-image")
        .arg(input)
        .arg("-o")
        .arg(output)
        .arg("--tarball")
        .arg(tarball)
        .args(extra);
    cmd.output().unwrap()
}

/// Assert success and return stdout.
pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn run_tool(tool: &str, package: &str, args: &[&str]) -> Output {
    Command::new(need(tool, package))
        .args(args)
        .output()
        .unwrap()
}

pub fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The partitions `sfdisk --json` reports: (start sector, size, type).
pub fn sfdisk_partitions(image: &Path) -> Vec<(u64, u64, String)> {
    let out = run_tool("sfdisk", "fdisk", &["--json", image.to_str().unwrap()]);
    let json: serde_json::Value =
        serde_json::from_slice(&ok(&out, "sfdisk --json").into_bytes()).unwrap();
    json["partitiontable"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["start"].as_u64().unwrap(),
                p["size"].as_u64().unwrap(),
                p["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Copy bytes `[start, start + len)` of `image` into a file of its own.
pub fn extract(image: &Path, start: u64, len: u64, to: &Path) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(image).unwrap();
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, start).unwrap();
    std::fs::write(to, buf).unwrap();
}
