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
    let dir = input.parent().unwrap();
    let before = listing(dir);
    let out = dir.join("out.img");
    let res = adapt(input, &out, tarball, extra);
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

    let four = sfdisk_disk(
        d,
        "four.img",
        8 << 20,
        "label: dos\n,1M,L\n,1M,L\n,1M,L\n,1M,L\n",
    );
    refused(&four, &tarball, &[], "no free primary slot in the MBR");

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

    let iso = hybrid_iso(d);
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
    for (output, force) in [(iso.clone(), false), (iso.clone(), true)] {
        let extra: &[&str] = if force { &["--force"] } else { &[] };
        let res = adapt(&iso, &output, &tarball, extra);
        let err = String::from_utf8_lossy(&res.stderr);
        assert!(
            !res.status.success() && err.contains("is the input file"),
            "{err}"
        );
    }
    let link = d.join("link.iso");
    std::fs::hard_link(&iso, &link).unwrap();
    let res = adapt(&iso, &link, &tarball, &["--force"]);
    assert!(String::from_utf8_lossy(&res.stderr).contains("is the input file"));
    std::fs::remove_file(&link).unwrap();
    let dotted = d.join(".").join(iso.file_name().unwrap());
    let res = adapt(&iso, &dotted, &tarball, &["--force"]);
    assert!(String::from_utf8_lossy(&res.stderr).contains("is the input file"));
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

/// A full disk, simulated with a file-size limit (RLIMIT_FSIZE) on the
/// child, whose writes then fail with EFBIG like they would with ENOSPC.
#[test]
fn a_full_disk_leaves_nothing_behind() {
    let dir = workdir();
    let d = dir.path();
    let (iso, tarball) = (hybrid_iso(d), good_tarball(d));
    for limit in [512 * 1024u64, 8 << 20] {
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
        eprintln!("--- limit {limit}\n{err}");
        assert!(
            !res.status.success(),
            "succeeded with a {limit}-byte file size limit"
        );
        assert!(
            err.contains("no space left for") && err.contains("out.img"),
            "{err}"
        );
        assert_eq!(listing(d), before, "files left behind");
    }
}
