//! The rest of `scripts/kexec.sourceme` that can run on the host under
//! busybox ash: syntax, gen-kexec.conf, finding the disk and the order of the
//! partitions to try (against a sysfs-shaped tree), concatenating initrds,
//! and the failure path of the whole script, which must return, not exit.
//! Mounting and kexec itself run for real in QEMU (the boot tests).

mod sourceme_harness;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use sourceme_harness::{busybox, run, script};

#[test]
fn script_and_library_are_valid_busybox_ash() {
    let mut files = vec![script()];
    for e in std::fs::read_dir(sourceme_harness::library()).unwrap() {
        let p = e.unwrap().path();
        // grub-*.awk: awk programs, run by grub.sh (tests/sourceme_grub.rs).
        if p.extension().is_some_and(|x| x == "sh") {
            files.push(p);
        }
    }
    assert!(files.len() > 5, "{files:?}");
    for file in files {
        let out = Command::new(busybox())
            .args(["sh", "-n"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "busybox sh -n {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn gen_kexec_conf_is_parsed_not_sourced() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("gen-kexec.conf");
    std::fs::write(
        &conf,
        "# gen-kexec settings\n\
         \tappend = 'console=ttyS1,9600 rd.shell'\n\
         label=install\n\
         timeout=soon\n\
         lable=typo\n\
         $(touch pwned)\n\
         timeout=12\n\
         load_below=0x100\n\
         load_below=128",
    )
    .unwrap();
    let out = run(
        r#"cd "$(dirname "$GK_CONF")" && gk_read_conf "$GK_CONF"
printf '%s|%s|%s|%s\n' "$GK_CONF_APPEND" "$GK_CONF_LABEL" "$GK_CONF_TIMEOUT" "$GK_CONF_LOAD_BELOW""#,
        &[("GK_CONF", &conf)],
    );
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout, "console=ttyS1,9600 rd.shell|install|12|128\n");
    let file = conf.display();
    for warning in [
        format!("{file}:4: timeout must be a whole number of seconds, got 'soon'; keeping 5"),
        format!("{file}:5: unknown key 'lable' (known: append, label, load_below, menu_timeout, timeout); line ignored"),
        format!(
            "{file}:8: load_below must be a whole number of MiB (1 to 9999999) or none, \
             got '0x100'; keeping 256"
        ),
        format!("{file}:6: expected KEY=VALUE, got '$(touch pwned)'; line ignored"),
    ] {
        assert!(
            out.stderr.contains(&warning),
            "missing warning {warning:?} in:\n{}",
            out.stderr
        );
    }
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn the_example_conf_parses_cleanly_as_shipped_and_uncommented() {
    let example = sourceme_harness::workspace().join("scripts/gen-kexec.conf.example");
    let text = std::fs::read_to_string(&example).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(setting) if setting.contains('=') && !setting.starts_with(' ') => setting,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    for (name, conf, expected) in [
        ("as-shipped.conf", text.clone(), "||5|256\n"),
        (
            "uncommented.conf",
            uncommented,
            "console=tty0 console=ttyS0,115200n8|gentoo-nofb|10|none\n",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, conf).unwrap();
        let out = run(
            r#"gk_read_conf "$GK_CONF"
printf '%s|%s|%s|%s\n' "$GK_CONF_APPEND" "$GK_CONF_LABEL" "$GK_CONF_TIMEOUT" "$GK_CONF_LOAD_BELOW""#,
            &[("GK_CONF", &path)],
        );
        assert!(out.ok && out.stderr.is_empty(), "{name}: {}", out.stderr);
        assert_eq!(out.stdout, expected, "{name}");
    }
}

/// A disk for [`fake_sys`]: its device path below /sys/devices, its name,
/// and its partitions with their numbers.
type FakeDisk<'a> = (&'a str, &'a str, &'a [(&'a str, u32)]);

/// A sysfs-shaped tree: /sys/class/block/<name> links into /sys/devices,
/// where partitions are directories below their disk with a `partition` file.
fn fake_sys(root: &Path, disks: &[FakeDisk]) {
    std::fs::create_dir_all(root.join("class/block")).unwrap();
    for (bus, disk, parts) in disks {
        let disk_dir = root.join("devices").join(bus).join("block").join(disk);
        std::fs::create_dir_all(&disk_dir).unwrap();
        symlink(
            format!("../../devices/{bus}/block/{disk}"),
            root.join("class/block").join(disk),
        )
        .unwrap();
        for (part, number) in *parts {
            std::fs::create_dir(disk_dir.join(part)).unwrap();
            std::fs::write(disk_dir.join(part).join("partition"), format!("{number}\n")).unwrap();
            symlink(
                format!("../../devices/{bus}/block/{disk}/{part}"),
                root.join("class/block").join(part),
            )
            .unwrap();
        }
    }
}

const USB: &str = "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0";
const NVME: &str = "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0";

#[test]
fn the_disk_and_the_partitions_to_try_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    fake_sys(
        &sys,
        &[
            (
                USB,
                "sdb",
                &[("sdb1", 1), ("sdb10", 10), ("sdb2", 2), ("sdb3", 3)],
            ),
            (NVME, "nvme0n1", &[("nvme0n1p1", 1), ("nvme0n1p2", 2)]),
        ],
    );
    let out = run(
        r#"for d in sdb2 sdb nvme0n1p2 mmcblk0p1 vdb12 sda1 nvme1n1p3 loop0p1 sr0; do
    printf '%s->%s\n' "$d" "$(gk_disk_of "$d")"
done
echo "sdb:" $(gk_candidates sdb sdb2)
echo "nvme0n1:" $(gk_candidates nvme0n1 nvme0n1p1)"#,
        &[("GK_SYS", &sys)],
    );
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        // sysfs for the first three; names not in sysfs fall back to the
        // naming rules.
        "sdb2->sdb\nsdb->sdb\nnvme0n1p2->nvme0n1\nmmcblk0p1->mmcblk0\nvdb12->vdb\nsda1->sda\n\
         nvme1n1p3->nvme1n1\nloop0p1->loop0\nsr0->sr0\n\
         sdb: sdb1 sdb3 sdb10 sdb\n\
         nvme0n1: nvme0n1p2 nvme0n1\n"
    );
}

#[test]
fn several_initrds_are_concatenated_with_4_byte_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let parts: [(&str, &[u8]); 3] = [
        ("ucode.img", b"AAAAA"),
        ("main.img", b"BBBBBBBB"),
        ("x", b"CCC"),
    ];
    for (name, content) in parts {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let tmp = dir.path().join("tmp");
    let out = run(
        r#"cd "$GK_TMP/.." && gk_concat_initrds "$PWD/ucode.img" "$PWD/main.img" "$PWD/x""#,
        &[("GK_TMP", &tmp)],
    );
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout, tmp.join("initrd.cat").display().to_string());
    assert_eq!(
        std::fs::read(tmp.join("initrd.cat")).unwrap(),
        b"AAAAA\0\0\0BBBBBBBBCCC\0"
    );
    assert!(!tmp.join("initrd.cat.partial").exists());
}

#[test]
fn without_a_legacy_partition_sourcing_returns_an_error_instead_of_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    // A disk name no host has, so nothing real is ever mounted by this test.
    fake_sys(
        &sys,
        &[(USB, "gktestdisk", &[("gktestdisk1", 1), ("gktestdisk2", 2)])],
    );
    let proc_dir = dir.path().join("proc");
    std::fs::create_dir(&proc_dir).unwrap();
    std::fs::write(
        proc_dir.join("mounts"),
        "rootfs / rootfs rw 0 0\n/dev/gktestdisk2 /boot vfat ro 0 0\n",
    )
    .unwrap();
    std::fs::write(
        proc_dir.join("cmdline"),
        "console=ttyS0,115200 console=tty0\n",
    )
    .unwrap();
    let conf = dir.path().join("gen-kexec.conf");
    std::fs::write(&conf, "timeout=0\n").unwrap();
    let mnt = dir.path().join("mnt/legacy");
    let out = run(
        r#"unset GK_NO_MAIN
. "$GK_SCRIPT"
echo "status=$? shell still running""#,
        &[
            ("GK_SYS", &sys),
            ("GK_PROC", &proc_dir),
            ("GK_CONF", &conf),
            ("GK_ROOT", &mnt),
        ],
    );
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("gen-kexec: /boot is /dev/gktestdisk2, on disk /dev/gktestdisk\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("status=1 shell still running\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(
            "gen-kexec: error: no partition of /dev/gktestdisk (nor the disk itself) holds an \
             iso9660, vfat or ext4 filesystem with isolinux.cfg, syslinux.cfg, extlinux.conf or a \
             GRUB config (waited 0s; tried: /dev/gktestdisk1 /dev/gktestdisk). Is the legacy image on the \
             same disk as /dev/gktestdisk2?"
        ),
        "{}",
        out.stderr
    );
    assert!(mnt.is_dir(), "the mount point is created");

    // Nothing on /boot: said so, and again a return, not an exit.
    std::fs::write(proc_dir.join("mounts"), "rootfs / rootfs rw 0 0\n").unwrap();
    let out = run(
        r#"unset GK_NO_MAIN
. "$GK_SCRIPT"
echo "status=$?""#,
        &[
            ("GK_SYS", &sys),
            ("GK_PROC", &proc_dir),
            ("GK_CONF", &conf),
            ("GK_ROOT", &mnt),
        ],
    );
    assert!(out.stdout.ends_with("status=1\n"), "{}", out.stdout);
    assert!(
        out.stderr.contains("nothing is mounted on /boot"),
        "{}",
        out.stderr
    );
}

/// ash's builtins (busybox 1.35..1.37 with the default ash options).
const ASH_BUILTINS: &[&str] = &[
    ".", ":", "[", "[[", "alias", "bg", "break", "cd", "chdir", "command", "continue", "echo",
    "eval", "exec", "exit", "export", "false", "fg", "getopts", "hash", "jobs", "kill", "let",
    "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "source", "test",
    "times", "trap", "true", "type", "ulimit", "umask", "unalias", "unset", "wait",
];

/// The `# applets:` line of the runtime library's header: what the
/// initramfs's busybox must provide besides ash.
fn listed_applets(script_text: &str) -> Vec<String> {
    let line = script_text
        .lines()
        .find_map(|l| l.strip_prefix("# applets: "))
        .expect("the runtime library (gen-kexec.sh) has no `# applets:` line in its header");
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn every_command_the_script_runs_is_a_builtin_or_a_listed_applet() {
    // The script and the runtime library it sources (/lib/gen-kexec).
    let mut text = std::fs::read_to_string(script()).unwrap();
    let mut parts: Vec<_> = std::fs::read_dir(sourceme_harness::library())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    for part in parts {
        text.push_str(&std::fs::read_to_string(part).unwrap());
    }
    let mut allowed: Vec<String> = ASH_BUILTINS.iter().map(|s| s.to_string()).collect();
    allowed.extend(listed_applets(&text));
    allowed.push("kexec".into());
    // The script's own functions: `gk_name() {` at the start of a line.
    allowed.extend(
        text.lines()
            .filter_map(|l| l.split_once("() {"))
            .map(|(name, _)| name.to_owned())
            .filter(|name| name.starts_with("gk_")),
    );

    // Exercise everything that runs on the host, traced with `set -x`.
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    fake_sys(
        &sys,
        &[(USB, "gktestdisk", &[("gktestdisk1", 1), ("gktestdisk2", 2)])],
    );
    let proc_dir = dir.path().join("proc");
    std::fs::create_dir(&proc_dir).unwrap();
    std::fs::write(
        proc_dir.join("mounts"),
        "/dev/gktestdisk2 /boot vfat ro 0 0\n",
    )
    .unwrap();
    std::fs::write(
        proc_dir.join("cmdline"),
        "console=ttyS0,115200 console=tty0\n",
    )
    .unwrap();
    let conf = dir.path().join("gen-kexec.conf");
    std::fs::write(&conf, "timeout=0\nappend=quiet\nbogus\n").unwrap();
    std::fs::write(dir.path().join("a"), "1").unwrap();
    let fixtures = sourceme_harness::fixture("debian-installer")
        .parent()
        .unwrap()
        .to_owned();
    let out = run(
        r#"set -x
for GK_ROOT in "$FIXTURES"/*; do
    gk_read_conf "$GK_CONF"
    gk_plan "$(gk_find_config)"
done
gk_concat_initrds "$GK_TMP/../a" "$GK_TMP/../a"
GK_ROOT=$GK_TMP/mnt
unset GK_NO_MAIN
. "$GK_SCRIPT"
echo "status=$?""#,
        &[
            ("GK_SYS", &sys),
            ("GK_PROC", &proc_dir),
            ("GK_CONF", &conf),
            ("GK_TMP", &dir.path().join("tmp")),
            ("FIXTURES", &fixtures),
        ],
    );
    assert!(
        out.stdout.ends_with("status=1\n"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let mut unknown: Vec<String> = out
        .stderr
        .lines()
        // Processes of a pipeline trace concurrently, so a line may hold
        // pieces of two trace lines: look at every word after a "+ ".
        .flat_map(|l| l.split("+ ").skip(1))
        .filter_map(|l| l.split_whitespace().next())
        .map(|w| w.trim_matches(|c| c == '\'' || c == '+').to_owned())
        .filter(|w| !w.is_empty())
        .filter(|w| !w.contains('=') && !allowed.contains(w))
        .collect();
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "kexec.sourceme ran {unknown:?}: neither ash builtins nor in the `# applets:` list of \
         initramfs-skel/lib/gen-kexec/gen-kexec.sh (add them there and to \
         kconfig-fragments/busybox/initramfs.config, or avoid them)"
    );
    // The trace did see the applets these paths use.
    for applet in ["cat", "wc", "mv", "mkdir"] {
        assert!(
            out.stderr.contains(&format!("\n+ {applet} ")),
            "no `{applet}` in the trace"
        );
    }
}
