//! Every way `cargo xtask adapt-image` refuses to work: the message a user
//! sees, and nothing left on disk (no output, no OUTPUT.partial). This file
//! has the bad inputs, tarballs and outputs; `write_failures` the writes
//! that fail half-way (file size limit, full filesystem).

#[path = "../adapt_image_harness/mod.rs"]
mod adapt_image_harness;
mod write_failures;

use std::path::{Path, PathBuf};

use adapt_image_harness::*;

/// The files in `dir`, sorted.
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
    for (extra, message) in [
        (
            &["--set", "lable=x"][..],
            "unknown gen-kexec.conf key `lable` (keys: append, label, load_below, menu_timeout, timeout)",
        ),
        (
            &["--set", "load_below=0x100"][..],
            "gen-kexec.conf `load_below` takes a whole number of MiB (1 to 9999999) or none, got `0x100`",
        ),
        (
            &["--append", "quiet", "--set", "append=splash"][..],
            "gen-kexec.conf `append` is given twice",
        ),
    ] {
        refused(&iso, &tarball, extra, message);
    }
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
