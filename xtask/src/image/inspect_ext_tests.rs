//! `inspect` on MBR disks of ext4 partitions made by mkfs.ext4 -d
//! (e2fsprogs; no root): GRUB on one partition, GRUB on a separate /boot
//! found by `search --fs-uuid`, extlinux.

use std::os::unix::fs::FileExt;
use std::path::Path;

use camino::Utf8PathBuf;

use crate::image::mbr;

/// A 4 MiB ext4 filesystem holding `files`.
pub fn mkfs(dir: &Path, name: &str, uuid: &str, label: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let root = dir.join(format!("{name}.d"));
    for (p, c) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    }
    std::fs::create_dir_all(&root).unwrap();
    let img = dir.join(format!("{name}.img"));
    let st = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&root)
        .args(["-U", uuid, "-L", label])
        .arg(&img)
        .arg("4M")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("mkfs.ext4 (e2fsprogs)");
    assert!(st.success());
    std::fs::read(img).unwrap()
}

/// An MBR disk with `fss` as partitions 1, 2, ... (type 0x83, 1 MiB aligned).
fn disk(dir: &Path, fss: &[Vec<u8>]) -> Utf8PathBuf {
    let path = Utf8PathBuf::from_path_buf(dir.join("disk.img")).unwrap();
    let f = std::fs::File::create(&path).unwrap();
    let mut s0 = vec![0u8; 512];
    s0[510] = 0x55;
    s0[511] = 0xAA;
    let mut at = 2048u32;
    for (i, fs) in fss.iter().enumerate() {
        let sectors = (fs.len() / 512) as u32;
        let e = mbr::Entry {
            status: 0,
            kind: 0x83,
            start: at,
            sectors,
        };
        mbr::write_entry(&mut s0, i, &e);
        f.write_all_at(fs, u64::from(at) * 512).unwrap();
        at += sectors.div_ceil(2048) * 2048;
    }
    f.write_all_at(&s0, 0).unwrap();
    f.set_len(u64::from(at) * 512).unwrap();
    path
}

fn has(o: &str, lines: &[&str]) {
    for l in lines {
        assert!(o.contains(l), "no {l:?} in\n{o}");
    }
}

const ONEPART: &str = include_str!("../../tests/corpus/grub/debian-mkconfig-onepart.cfg");
const SEPBOOT: &str = include_str!("../../tests/corpus/grub/debian-mkconfig-sepboot.cfg");
const U1: &str = "0e2e0014-0001-4000-8000-000000000001";
const U2: &str = "0e2e0014-0002-4000-8000-000000000002";
const KERNEL: &str = "vmlinuz-6.1.0-57-amd64";
const INITRD: &str = "initrd.img-6.1.0-57-amd64";

#[test]
fn inspect_ext4_grub_one_partition() {
    let t = tempfile::tempdir().unwrap();
    let root = mkfs(
        t.path(),
        "root",
        U1,
        "debian-root",
        &[
            ("boot/grub/grub.cfg", ONEPART),
            ("boot/vmlinuz-6.1.0-57-amd64", "k"),
            ("boot/initrd.img-6.1.0-57-amd64", "i"),
        ],
    );
    let o = super::super::inspect::report(&disk(t.path(), &[root])).unwrap();
    has(&o, &[
        &format!("  partition 1: ext4, label \"debian-root\", UUID {U1}"),
        "boot config /boot/grub/grub.cfg (partition 1):",
        "  gen-kexec's menu for /boot/grub/grub.cfg (GRUB):",
        "      1. Debian GNU/Linux [GRUB's default]: bootable",
        "         Advanced options for Debian GNU/Linux:",
        "      2.   Debian GNU/Linux, with Linux 6.1.0-57-amd64: bootable",
        "      3.   Debian GNU/Linux, with Linux 6.1.0-57-amd64 (recovery mode): bootable",
        "    GRUB: timeout 1, timeout_style menu, default \"0\"; gen-kexec waits 1 s",
        &format!("    nobody at the keyboard: Debian GNU/Linux: /boot/{KERNEL} initrd /boot/{INITRD} cmdline BOOT_IMAGE=/boot/{KERNEL} root=UUID={U1} ro"),
    ]);
}

#[test]
fn inspect_ext4_grub_separate_boot_by_fs_uuid() {
    // The root filesystem first, /boot second: GRUB's `set
    // root='hd0,msdos1'` is wrong, its `search --fs-uuid` finds /boot.
    let t = tempfile::tempdir().unwrap();
    let root = mkfs(t.path(), "root", U2, "debian-root", &[("etc/fstab", "")]);
    let boot = mkfs(
        t.path(),
        "boot",
        U1,
        "debian-boot",
        &[("grub/grub.cfg", SEPBOOT), (KERNEL, "k"), (INITRD, "i")],
    );
    let o = super::super::inspect::report(&disk(t.path(), &[root, boot])).unwrap();
    has(&o, &[
        &format!("  partition 1: ext4, label \"debian-root\", UUID {U2}"),
        "    no isolinux.cfg, syslinux.cfg, extlinux.conf, nor a GRUB config",
        &format!("  partition 2: ext4, label \"debian-boot\", UUID {U1}"),
        "boot config /grub/grub.cfg (partition 2):",
        "      1. Debian GNU/Linux [GRUB's default]: bootable",
        &format!("    nobody at the keyboard: Debian GNU/Linux: /{KERNEL} initrd /{INITRD} cmdline BOOT_IMAGE=/{KERNEL} root=UUID={U2} ro"),
    ]);
    assert!(!o.contains("warning"), "{o}");
}

#[test]
fn inspect_ext4_grub_kernel_on_another_partition() {
    // The config on partition 1, the kernel on partition 2 (by UUID).
    let cfg = format!(
        "set timeout=5\nmenuentry 'Other' {{\n search --no-floppy --fs-uuid --set=root {U1}\n linux /{KERNEL} root=/dev/sda1\n initrd /{INITRD}\n}}\nmenuentry 'Missing' {{\n linux /{KERNEL}\n}}\n"
    );
    let t = tempfile::tempdir().unwrap();
    let root = mkfs(t.path(), "root", U2, "r", &[("boot/grub/grub.cfg", &cfg)]);
    let boot = mkfs(t.path(), "boot", U1, "b", &[(KERNEL, "k"), (INITRD, "i")]);
    let o = super::super::inspect::report(&disk(t.path(), &[root, boot])).unwrap();
    has(
        &o,
        &[
            "boot config /boot/grub/grub.cfg (partition 1):",
            "      1. Other [GRUB's default]: bootable",
            "    GRUB: timeout 5, timeout_style menu, default \"\"; gen-kexec waits 5 s",
        ],
    );
    let plan = o
        .lines()
        .find(|l| l.contains("nobody at the keyboard"))
        .unwrap();
    assert!(
        plan.contains(KERNEL) && plan.contains("root=/dev/sda1"),
        "{o}"
    );
    let missing = o.lines().find(|l| l.contains("2. Missing")).unwrap();
    assert!(!missing.ends_with("bootable"), "{o}");
}

#[test]
fn inspect_ext4_extlinux() {
    let t = tempfile::tempdir().unwrap();
    let cfg = "default linux\ntimeout 30\nlabel linux\n  kernel /boot/vmlinuz\n  append root=/dev/sda1 ro\n  initrd /boot/initrd.img\nlabel rescue\n  kernel /boot/vmlinuz\n  append single\n";
    let fs = mkfs(
        t.path(),
        "root",
        U1,
        "ext",
        &[
            ("boot/extlinux/extlinux.conf", cfg),
            ("boot/vmlinuz", "k"),
            ("boot/initrd.img", "i"),
        ],
    );
    let o = super::super::inspect::report(&disk(t.path(), &[fs])).unwrap();
    has(
        &o,
        &[
            "boot config /boot/extlinux/extlinux.conf (partition 1):",
            "  gen-kexec's menu for /boot/extlinux/extlinux.conf:",
            "      1. linux: bootable",
            "      2. rescue: bootable",
            "    nobody at the keyboard: linux",
            "/boot/vmlinuz initrd /boot/initrd.img cmdline",
        ],
    );
}

#[test]
fn inspect_damaged_ext4_is_a_clean_error() {
    let t = tempfile::tempdir().unwrap();
    let mut fs = mkfs(
        t.path(),
        "root",
        U1,
        "x",
        &[("boot/grub/grub.cfg", ONEPART)],
    );
    // blocks count: far more than the partition.
    fs[1024 + 4..1024 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let o = super::super::inspect::report(&disk(t.path(), &[fs])).unwrap();
    has(&o, &["  partition 1: ext2/3/4 superblock, but it does not load: partition 1: damaged ext2/3/4 superblock"]);
}

#[test]
fn symlinks_are_followed_by_the_reader_with_their_sizes_checked() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("fs.d");
    let long = format!("../{}/x", "d".repeat(70));
    std::fs::create_dir_all(root.join("real/sub")).unwrap();
    std::fs::create_dir_all(root.join("boot")).unwrap();
    std::fs::create_dir_all(root.join(long.trim_start_matches("../").trim_end_matches("/x")))
        .unwrap();
    std::fs::write(root.join("real/sub/extlinux.conf"), "DEFAULT a\n").unwrap();
    let x = root.join(long.trim_start_matches("../"));
    std::fs::write(x, "long\n").unwrap();
    symlink("../real/sub", root.join("boot/extlinux")).unwrap(); // relative, a directory
    symlink("/real/sub/extlinux.conf", root.join("abs")).unwrap(); // absolute
    symlink(&long, root.join("boot/long")).unwrap(); // > 59 bytes: stored in a block
    symlink("loop2", root.join("loop1")).unwrap();
    symlink("loop1", root.join("loop2")).unwrap();
    let img = tmp.path().join("fs.img");
    let st = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&root)
        .arg(&img)
        .arg("4M")
        .status()
        .expect("mkfs.ext4 (e2fsprogs)");
    assert!(st.success());
    let f = std::fs::File::open(&img).unwrap();
    let len = f.metadata().unwrap().len();
    let ext = crate::image::extread::open(&f, 0, len, "test").unwrap();
    let read = |p: &str| {
        ext.read_max(p, 100)
            .map(|o| o.map(|b| String::from_utf8(b).unwrap()))
    };
    assert_eq!(
        read("/boot/extlinux/extlinux.conf").unwrap().as_deref(),
        Some("DEFAULT a\n")
    );
    assert_eq!(read("abs").unwrap().as_deref(), Some("DEFAULT a\n"));
    assert_eq!(read("/boot/./long").unwrap().as_deref(), Some("long\n"));
    // ".." after a symlink is the target's parent, as in the kernel.
    assert_eq!(
        read("/boot/extlinux/../sub/extlinux.conf")
            .unwrap()
            .as_deref(),
        Some("DEFAULT a\n")
    );
    assert_eq!(read("/boot/extlinux/nothing").unwrap(), None);
    assert_eq!(
        read("/boot/extlinux").unwrap(),
        None,
        "a directory is not a file"
    );
    assert_eq!(
        ext.list("/boot/extlinux"),
        vec!["extlinux.conf".to_string()]
    );
    let e = read("/loop1").unwrap_err().to_string();
    assert!(e.contains("test: /loop1: more than 40 symlinks"), "{e}");
}
