//! `cargo xtask adapt-image` and `inspect` on real images, checked with
//! the tools a user would use: sfdisk, mtools, fsck.vfat, xorriso.

mod adapt_image_harness;

use std::path::Path;

use adapt_image_harness::*;

const MIB: u64 = 1 << 20;

/// mdir lists both files; fsck.vfat finds nothing to fix.
fn check_esp(image: &Path, start_sector: u64, sectors: u64, scratch: &Path) {
    let at = format!("{}@@{}", image.display(), start_sector * 512);
    let listing = ok(
        &run_tool("mdir", "mtools", &["-i", &at, "-/", "-b", "::"]),
        "mdir",
    );
    for f in ["::/EFI/Boot/bootx64.efi", "::/kexec.sourceme"] {
        assert!(
            listing.lines().any(|l| l.eq_ignore_ascii_case(f)),
            "mdir does not list {f}:\n{listing}"
        );
    }
    let esp = scratch.join("esp.fat");
    extract(image, start_sector * 512, sectors * 512, &esp);
    let fsck = run_tool("fsck.vfat", "dosfstools", &["-n", esp.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&fsck.stdout);
    assert!(fsck.status.success(), "fsck.vfat -n is not clean:\n{text}");
    let label = ok(
        &run_tool("mlabel", "mtools", &["-i", &at, "-s", "::"]),
        "mlabel",
    );
    assert!(label.contains("gen-kexec"), "label: {label}");
    std::fs::remove_file(esp).unwrap();
}

#[test]
fn hybrid_iso_gets_an_esp_and_an_el_torito_uefi_entry() {
    let dir = workdir();
    let (iso, tarball) = (hybrid_iso(dir.path()), good_tarball(dir.path()));
    let before = sha256(&iso);
    let bios_before = ok(
        &run_tool(
            "xorriso",
            "xorriso",
            &[
                "-indev",
                iso.to_str().unwrap(),
                "-report_el_torito",
                "plain",
            ],
        ),
        "xorriso",
    );
    let out = dir.path().join("adapted.img");
    ok(
        &adapt(
            &iso,
            &out,
            &tarball,
            &["--append", "console=ttyS0,115200 quiet"],
        ),
        "adapt-image",
    );
    assert_eq!(sha256(&iso), before, "the input was modified");

    let parts = sfdisk_partitions(&out);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(
        (parts[0].0, parts[0].2.as_str()),
        (0, "17"),
        "the isohybrid partition changed: {parts:?}"
    );
    let (start, size, kind) = parts[1].clone();
    assert_eq!(kind, "ef");
    assert_eq!(start % 2048, 0, "not 1 MiB aligned");
    assert_eq!(size * 512, 16 * MIB, "default El Torito ESP is 16 MiB");
    check_esp(&out, start, size, dir.path());

    let report = run_tool(
        "xorriso",
        "xorriso",
        &[
            "-indev",
            out.to_str().unwrap(),
            "-report_el_torito",
            "plain",
        ],
    );
    let report = format!(
        "{}{}",
        ok(&report, "xorriso"),
        String::from_utf8_lossy(&report.stderr)
    );
    let bios_line = |r: &str| {
        r.lines()
            .find(|l| l.starts_with("El Torito boot img :   1  BIOS"))
            .map(str::to_owned)
    };
    assert_eq!(
        bios_line(&report),
        bios_line(&bios_before),
        "the BIOS entry changed:\n{report}"
    );
    let efi = report
        .lines()
        .find(|l| l.contains("UEFI"))
        .unwrap_or_else(|| panic!("no UEFI entry:\n{report}"));
    let words: Vec<&str> = efi.split_whitespace().collect();
    assert_eq!(
        words[words.len() - 2..],
        [size.to_string(), (start / 4).to_string()],
        "{efi}"
    );
    assert!(
        report.contains("Volume id    : 'GENKEXEC_TEST'"),
        "the ISO 9660 volume is gone:\n{report}"
    );

    let conf = ok(
        &run_tool(
            "mtype",
            "mtools",
            &[
                "-i",
                &format!("{}@@{}", out.display(), start * 512),
                "::/gen-kexec.conf",
            ],
        ),
        "mtype",
    );
    assert!(
        conf.lines()
            .any(|l| l == "append=\"console=ttyS0,115200 quiet\""),
        "{conf}"
    );

    let inspect = ok(
        &xtask().arg("inspect").arg(&out).output().unwrap(),
        "inspect",
    );
    for want in [
        "partition 2: sectors 2048..34816 (16.0 MiB), 0xef EFI System",
        "section 1: platform 0xef UEFI, bootable, no emulation, load RBA 512 (sector 2048 = partition 2), 32768 sectors",
        "partition 2: FAT16, label \"gen-kexec\", volume id ",
        "/EFI/Boot/bootx64.efi (2500000 bytes)",
        "boot config /isolinux/isolinux.cfg (ISO 9660):",
        "    | append=\"console=ttyS0,115200 quiet\"",
    ] {
        assert!(inspect.contains(want), "inspect lacks {want:?}:\n{inspect}");
    }
}

#[test]
fn gpt_disk_gets_an_esp_and_a_moved_backup_table() {
    let dir = workdir();
    let (disk, tarball) = (gpt_disk(dir.path()), good_tarball(dir.path()));
    let out = dir.path().join("adapted.img");
    ok(&adapt(&disk, &out, &tarball, &[]), "adapt-image");
    let parts = sfdisk_partitions(&out);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(
        parts[0],
        (
            2048,
            65536,
            "0FC63DAF-8483-4772-8E79-3D69D8477DE4".to_owned()
        )
    );
    let (start, size, kind) = parts[1].clone();
    assert_eq!(kind, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    assert_eq!(
        (start * 512, size * 512),
        (64 * MIB, 100 * MIB),
        "appended after the 64 MiB disk, 100 MiB"
    );
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!(meta.len(), 165 * MIB, "ESP + 1 MiB slack");
    // The input's holes and the ESP's free space stay holes: a 64 MiB disk
    // holding 32 MiB of zeros plus a 2.5 MB bootloader takes a few MiB.
    use std::os::unix::fs::MetadataExt;
    assert!(
        meta.blocks() * 512 < 16 * MIB,
        "the output is not sparse: {} bytes allocated",
        meta.blocks() * 512
    );
    // sfdisk checks both headers, both CRCs and the protective MBR.
    let verify = ok(
        &run_tool("sfdisk", "fdisk", &["--verify", out.to_str().unwrap()]),
        "sfdisk --verify",
    );
    assert!(verify.contains("No errors detected"), "{verify}");
    check_esp(&out, start, size, dir.path());
    // The protective MBR's 0xEE entry still covers the whole (grown) disk.
    let mbr = std::fs::read(&out).unwrap()[..512].to_vec();
    assert_eq!(mbr[446 + 4], 0xEE);
    let covered = u32::from_le_bytes(mbr[446 + 12..446 + 16].try_into().unwrap());
    assert_eq!(
        u64::from(covered),
        165 * MIB / 512 - 1,
        "protective MBR not grown"
    );
}

/// Acceptance 2: same inputs, same bytes, and no root, for the hybrid ISO
/// and the GPT disk. As root (CI), two runs drop to nobody with setpriv; as
/// another user they already run unprivileged. A third run changes
/// everything else a user might: the input's path and name, the working
/// directory, umask, TZ and locale.
#[test]
fn same_inputs_give_the_same_bytes_without_root() {
    let dir = workdir();
    let tarball = good_tarball(dir.path());
    for input in [hybrid_iso(dir.path()), gpt_disk(dir.path())] {
        let hashes = three_runs(&input, &tarball, dir.path());
        eprintln!(
            "{}: sha256 of the three outputs: {hashes:?}",
            input.display()
        );
        assert!(
            hashes.iter().all(|h| *h == hashes[0]),
            "outputs differ: {hashes:?}"
        );
    }
}

fn three_runs(input: &Path, tarball: &Path, dir: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let setpriv = need("setpriv", "util-linux");
    let mut hashes = Vec::new();
    for i in 0..2 {
        let out = dir.join(format!("out{i}.img"));
        let mut cmd = if root {
            let mut c = std::process::Command::new(&setpriv);
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(xtask_bin());
            c
        } else {
            std::process::Command::new(xtask_bin())
        };
        let res = cmd
            .arg("adapt-image")
            .arg(input)
            .arg("-o")
            .arg(&out)
            .arg("--tarball")
            .arg(tarball)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .env("HOME", "/nonexistent")
            .output()
            .unwrap();
        ok(&res, "adapt-image as an unprivileged user");
        let uid = std::fs::metadata(&out).unwrap().uid();
        assert_ne!(uid, 0, "written by root");
        eprintln!("run {i}: written by uid {uid}");
        hashes.push(sha256(&out));
        std::fs::remove_file(&out).unwrap();
    }
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let copy = elsewhere.join("copy of the input.img");
    std::fs::copy(input, &copy).unwrap();
    let out = elsewhere.join("other.img");
    let mut cmd = xtask();
    cmd.arg("adapt-image")
        .arg(&copy)
        .arg("-o")
        .arg(&out)
        .arg("--tarball")
        .arg(tarball)
        .current_dir(&elsewhere)
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "C.UTF-8");
    // SAFETY: umask is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
    ok(&cmd.output().unwrap(), "adapt-image");
    hashes.push(sha256(&out));
    std::fs::remove_dir_all(&elsewhere).unwrap();
    hashes
}

#[test]
fn disable_el_torito_leaves_only_the_mbr() {
    let dir = workdir();
    let (iso, tarball) = (hybrid_iso(dir.path()), good_tarball(dir.path()));
    let out = dir.path().join("blunt.img");
    ok(
        &adapt(&iso, &out, &tarball, &["--disable-el-torito"]),
        "adapt-image --disable-el-torito",
    );
    let parts = sfdisk_partitions(&out);
    assert_eq!(
        parts[1].1 * 512,
        100 * MIB,
        "no El Torito limit: the usual 100 MiB ESP"
    );
    check_esp(&out, parts[1].0, parts[1].1, dir.path());
    let report = run_tool(
        "xorriso",
        "xorriso",
        &[
            "-indev",
            out.to_str().unwrap(),
            "-report_el_torito",
            "plain",
        ],
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&report.stdout),
        String::from_utf8_lossy(&report.stderr)
    );
    assert!(
        !all.contains("El Torito boot img"),
        "El Torito still there:\n{all}"
    );
    let inspect = ok(
        &xtask().arg("inspect").arg(&out).output().unwrap(),
        "inspect",
    );
    assert!(
        inspect.contains("El Torito: none (boot record says \"GEN-KEXEC: EL TORITO DISABLED\")"),
        "{inspect}"
    );
}

#[path = "sourceme_harness/mod.rs"]
mod sourceme_harness;

/// `--append` and `--set` end up in gen-kexec.conf exactly as
/// kexec.sourceme's own parser (under busybox ash, as in the initramfs)
/// reads it back, also when the arguments hold double quotes.
#[test]
fn append_is_read_back_by_kexec_sourceme() {
    let dir = workdir();
    let (iso, tarball) = (hybrid_iso(dir.path()), good_tarball(dir.path()));
    for (i, args) in [
        "console=ttyS0,115200n8 quiet",
        "acpi_osi=\"Windows 2015\" nomodeset",
    ]
    .iter()
    .enumerate()
    {
        let out = dir.path().join(format!("append{i}.img"));
        let sets = [
            "--set",
            "label=gentoo-nofb",
            "--set",
            "load_below=none",
            "--set",
            "timeout=9",
        ];
        let extra: Vec<&str> = ["--append", args].into_iter().chain(sets).collect();
        ok(
            &adapt(&iso, &out, &tarball, &extra),
            "adapt-image --append --set",
        );
        let start = sfdisk_partitions(&out)[1].0;
        let at = format!("{}@@{}", out.display(), start * 512);
        let conf = dir.path().join("gen-kexec.conf");
        let text = ok(
            &run_tool("mtype", "mtools", &["-i", &at, "::/gen-kexec.conf"]),
            "mtype",
        );
        std::fs::write(&conf, text).unwrap();
        let res = sourceme_harness::run(
            r#"gk_read_conf "$GK_CONF"
printf '%s|%s|%s|%s' "$GK_CONF_APPEND" "$GK_CONF_LABEL" "$GK_CONF_LOAD_BELOW" "$GK_CONF_TIMEOUT""#,
            &[("GK_CONF", &conf)],
        );
        assert!(
            res.ok && res.stderr.is_empty(),
            "kexec.sourceme: {}",
            res.stderr
        );
        assert_eq!(res.stdout, format!("{args}|gentoo-nofb|none|9"));
    }
}
