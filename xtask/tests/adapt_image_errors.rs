//! Every way `cargo xtask adapt-image` refuses to work: the message a user
//! sees, and nothing left on disk (no output, no OUTPUT.partial).

mod adapt_image_harness;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use adapt_image_harness::*;

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Run adapt-image, expect failure with `message`, and no new files.
fn refused(input: &Path, tarball: &Path, extra: &[&str], message: &str) -> String {
    let out = input.parent().unwrap().join("out.img");
    refused_to(input, &out, tarball, extra, message)
}

/// The same with a given output path.
fn refused_to(input: &Path, out: &Path, tarball: &Path, extra: &[&str], message: &str) -> String {
    let dir = input.parent().unwrap();
    let before = listing(dir);
    let res = adapt(input, out, tarball, extra);
    let stderr = String::from_utf8_lossy(&res.stderr).into_owned();
    assert!(
        !res.status.success(),
        "adapt-image succeeded but should fail with {message:?}"
    );
    assert!(
        stderr.contains(message),
        "expected {message:?} in:\n{stderr}"
    );
    assert_eq!(listing(dir), before, "files left behind after: {stderr}");
    eprintln!("--- {message}\n{stderr}");
    stderr
}

#[test]
fn bad_inputs_are_refused_with_a_clear_message() {
    let dir = workdir();
    let d = dir.path();
    let tarball = good_tarball(d);

    let text = d.join("notes.txt");
    std::fs::write(&text, "hello\n".repeat(1000)).unwrap();
    refused(&text, &tarball, &[], "is not a disk image");
    let zeros = d.join("zeros.img");
    std::fs::File::create(&zeros)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    refused(
        &zeros,
        &tarball,
        &[],
        "is not a disk image: no partition table",
    );

    let mut empty_mbr = vec![0u8; 1 << 20];
    empty_mbr[510] = 0x55;
    empty_mbr[511] = 0xAA;
    let blank = d.join("blank.img");
    std::fs::write(&blank, &empty_mbr).unwrap();
    refused(&blank, &tarball, &[], "unknown partition table");

    let gpt = gpt_disk(d);
    let mut bytes = std::fs::read(&gpt).unwrap();
    bytes[512 + 40] ^= 0xFF; // first usable LBA, without fixing the CRC
    let damaged = d.join("damaged-gpt.img");
    std::fs::write(&damaged, &bytes).unwrap();
    refused(
        &damaged,
        &tarball,
        &[],
        "damaged GPT: the primary header CRC32 does not match",
    );
    std::fs::remove_file(&damaged).unwrap();
    let mut bytes = std::fs::read(&gpt).unwrap();
    bytes[446 + 12..446 + 16].copy_from_slice(&1u32.to_le_bytes()); // keep 0xEE
    bytes[446 + 16 + 4] = 0x83; // and add an MBR partition: a hybrid MBR
    bytes[446 + 16 + 8] = 0x00;
    bytes[446 + 16 + 9] = 0x08;
    bytes[446 + 16 + 13] = 0x01;
    let hybrid = d.join("hybrid-mbr.img");
    std::fs::write(&hybrid, &bytes).unwrap();
    refused(
        &hybrid,
        &tarball,
        &[],
        "has a hybrid MBR (GPT plus MBR partitions 2)",
    );
    std::fs::remove_file(&hybrid).unwrap();

    let mbr_disk = sfdisk_disk(d, "truncated.img", 8 << 20, "label: dos\n,,L\n");
    std::fs::File::options()
        .write(true)
        .open(&mbr_disk)
        .unwrap()
        .set_len(4 << 20)
        .unwrap();
    refused(
        &mbr_disk,
        &tarball,
        &[],
        "damaged MBR: partition 1 (sectors 2048..16384) ends beyond the end of the image (8192 sectors); \
         the image is damaged or truncated",
    );
    std::fs::remove_file(&mbr_disk).unwrap();

    let cd_only = isolinux_iso(d, "cd-only.iso", false);
    refused(
        &cd_only,
        &tarball,
        &[],
        "is an ISO 9660 image without a partition table (not isohybrid); make it hybrid first",
    );
    std::fs::remove_file(&cd_only).unwrap();

    let iso = hybrid_iso(d);
    let catalog = ok(
        &xtask().arg("inspect").arg(&iso).output().unwrap(),
        "inspect",
    );
    let lba: u64 = catalog
        .lines()
        .find_map(|l| l.strip_prefix("El Torito: boot catalog at CD sector "))
        .expect("inspect shows the boot catalog")
        .parse()
        .unwrap();
    let mut bytes = std::fs::read(&iso).unwrap();
    bytes[(lba * 2048 + 4) as usize] ^= 0x01; // the validation entry's ID string
    let bad_catalog = d.join("bad-catalog.iso");
    std::fs::write(&bad_catalog, &bytes).unwrap();
    refused(
        &bad_catalog,
        &tarball,
        &[],
        "damaged El Torito boot catalog: the validation entry checksum does not match",
    );
    std::fs::remove_file(&bad_catalog).unwrap();

    let four = sfdisk_disk(
        d,
        "four.img",
        8 << 20,
        "label: dos\n,1M,L\n,1M,L\n,1M,L\n,1M,L\n",
    );
    refused(&four, &tarball, &[], "no free primary slot in the MBR");

    // A sparse 2 TiB disk: no room left for an MBR partition after it.
    let huge = sfdisk_disk(d, "huge.img", 2 << 40, "label: dos\n,,L\n");
    refused(
        &huge,
        &tarball,
        &[],
        "the new partition would end beyond what an MBR can address (2 TiB); convert the image to GPT",
    );
    std::fs::remove_file(&huge).unwrap();

    let full_gpt = sfdisk_disk(
        d,
        "full-gpt.img",
        16 << 20,
        "label: gpt\ntable-length: 4\n,1M,L\n,1M,L\n,1M,L\n,1M,L\n",
    );
    refused(
        &full_gpt,
        &tarball,
        &[],
        "the GPT has no room for a new entry (all 4 entries are used)",
    );

    refused(
        &iso,
        &tarball,
        &["--esp-size", "32M"],
        "its El Torito UEFI entry can describe at most 32 MiB - 512 bytes",
    );
    refused(
        &iso,
        &tarball,
        &["--esp-size", "1000"],
        "must be a multiple of 512 bytes",
    );
    let adapted = d.join("adapted.iso");
    ok(&adapt(&iso, &adapted, &tarball, &[]), "adapt-image");
    refused(
        &adapted,
        &tarball,
        &[],
        "already has a gen-kexec partition (partition 2); adapt the original image instead",
    );
    std::fs::remove_file(&adapted).unwrap();
    let tiny = tarball_with(d, "huge.tar.xz", 6_000_000);
    refused(
        &iso,
        &tiny,
        &["--esp-size", "4M"],
        "do not fit in the 4096 KiB ESP; choose a larger --esp-size",
    );
}

fn tarball_with(dir: &Path, name: &str, efi_len: usize) -> PathBuf {
    tarball(
        dir,
        name,
        &[
            ("EFI/Boot/bootx64.efi", payload(efi_len)),
            ("kexec.sourceme", b"#\n".to_vec()),
        ],
    )
}

#[test]
fn bad_tarballs_and_outputs_are_refused() {
    let dir = workdir();
    let d = dir.path();
    let iso = hybrid_iso(d);
    let no_efi = tarball(d, "no-efi.tar.xz", &[("kexec.sourceme", b"#\n".to_vec())]);
    refused(&iso, &no_efi, &[], "the tarball lacks EFI/Boot/bootx64.efi");
    let no_script = tarball(
        d,
        "no-script.tar.xz",
        &[("EFI/Boot/bootx64.efi", b"MZ".to_vec())],
    );
    refused(&iso, &no_script, &[], "the tarball lacks kexec.sourceme");
    let not_xz = d.join("not.tar.xz");
    std::fs::write(&not_xz, "plain text").unwrap();
    refused(
        &iso,
        &not_xz,
        &[],
        "not.tar.xz: not a readable .tar.xz archive",
    );
    refused(
        &iso,
        &d.join("missing.tar.xz"),
        &[],
        "cannot open the bootloader tarball",
    );
    std::fs::remove_file(&not_xz).unwrap();

    let tarball = good_tarball(d);
    let before = sha256(&iso);
    let same = "is the input file";
    refused_to(&iso, &iso, &tarball, &[], same);
    refused_to(&iso, &iso, &tarball, &["--force"], same);
    let link = d.join("link.iso");
    std::fs::hard_link(&iso, &link).unwrap();
    refused_to(&iso, &link, &tarball, &["--force"], same);
    std::fs::remove_file(&link).unwrap();
    let dotted = d.join(".").join(iso.file_name().unwrap());
    refused_to(&iso, &dotted, &tarball, &["--force"], same);
    // OUTPUT.partial is where the output is written first.
    let partial = d.join("img.partial");
    std::fs::hard_link(&iso, &partial).unwrap();
    refused_to(&partial, &d.join("img"), &tarball, &["--force"], same);
    std::fs::remove_file(&partial).unwrap();
    assert_eq!(sha256(&iso), before, "the input was modified");

    let existing = d.join("out.img");
    std::fs::write(&existing, "precious").unwrap();
    refused(
        &iso,
        &tarball,
        &[],
        "out.img exists; pass --force to replace it",
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    ok(
        &adapt(&iso, &existing, &tarball, &["--force"]),
        "adapt-image --force",
    );
    std::fs::remove_file(&existing).unwrap();
}

/// A file size limit (RLIMIT_FSIZE, `ulimit -f`) on the child: its writes
/// fail with EFBIG, as on a filesystem that cannot hold so large a file
/// (FAT32: 4 GiB). The limits stop the copy and then the growing of the
/// output.
#[test]
fn a_file_size_limit_leaves_nothing_behind() {
    let dir = workdir();
    let d = dir.path();
    let (iso, tarball) = (hybrid_iso(d), good_tarball(d));
    for (limit, stage) in [(512 * 1024u64, "cannot copy"), (8 << 20, "cannot grow")] {
        let before = listing(d);
        let mut cmd = xtask();
        cmd.arg("adapt-image")
            .arg(&iso)
            .arg("-o")
            .arg(d.join("out.img"))
            .arg("--tarball")
            .arg(&tarball);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let res = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&res.stderr);
        eprintln!("--- file size limit {limit}\n{err}");
        assert!(
            !res.status.success(),
            "succeeded with a {limit}-byte file size limit"
        );
        assert!(
            err.contains("out.img cannot grow to 18 MiB")
                && err.contains("choose another -o")
                && err.contains(stage),
            "{err}"
        );
        assert_eq!(listing(d), before, "files left behind");
    }
}

/// A really full filesystem: a small tmpfs mounted in a private mount
/// namespace (as root), or in a user and mount namespace (as another
/// user), so nothing outside the test sees it and no root is needed where
/// the kernel allows unprivileged user namespaces. One size stops the copy,
/// a larger one the writing of bootx64.efi into the new FAT filesystem.
#[test]
fn a_full_filesystem_leaves_nothing_behind() {
    const SCRIPT: &str = r#"
        mount -t tmpfs -o size="$1",mode=0777 gen-kexec-test "$2" || exit 100
        dir=$2; shift 2
        "$@"; rc=$?
        echo "left in the full filesystem: [$(ls -A "$dir")]"
        exit $rc
    "#;
    let unshare = need("unshare", "util-linux");
    let dir = workdir();
    let d = dir.path();
    let (iso, tarball) = (hybrid_iso(d), good_tarball(d));
    let small = d.join("small");
    std::fs::create_dir(&small).unwrap();
    for (size, stage) in [
        ("512k", "cannot copy"),
        ("2m", "cannot write /EFI/Boot/bootx64.efi on the ESP"),
    ] {
        let mut cmd = std::process::Command::new(&unshare);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            cmd.args(["--user", "--map-root-user"]);
        }
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            SCRIPT,
            "sh",
        ])
        .arg(size)
        .arg(&small)
        .arg(xtask_bin())
        .arg("adapt-image")
        .arg(&iso)
        .arg("-o")
        .arg(small.join("out.img"))
        .arg("--tarball")
        .arg(&tarball)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("GEN_KEXEC_MIRROR")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
        let res = cmd.output().unwrap();
        let (out, err) = (
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr),
        );
        assert!(
            res.status.code() != Some(100) && !err.starts_with("unshare:"),
            "cannot mount a small tmpfs in a private mount namespace ({err}): this test needs root \
             with CAP_SYS_ADMIN (in Docker: --cap-add=SYS_ADMIN --security-opt apparmor=unconfined), \
             or unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, \
             kernel.apparmor_restrict_unprivileged_userns=0)"
        );
        eprintln!("--- tmpfs of {size}\n{err}");
        assert!(!res.status.success(), "succeeded on a {size} tmpfs");
        assert!(
            err.contains("no space left for")
                && err.contains("out.img")
                && err.contains("free some space or choose another -o")
                && err.contains(stage)
                && err.contains("No space left on device (os error 28)"),
            "{err}"
        );
        assert!(
            out.contains("left in the full filesystem: []"),
            "files left behind: {out}"
        );
        assert!(listing(&small).is_empty());
    }
}
