//! syslinux 6 fidelity of the runtime parser, directive by directive: each
//! case is a small config and what syslinux does with it when nobody is at
//! the keyboard (what it boots, how long it waits), checked under busybox
//! ash. docs/syslinux-directives.md lists which test covers which directive.

mod sourceme_harness;

use sourceme_harness::{run, tree};

/// (label booted, command line, wait in 1/100 s (-1 forever), has UI)
fn nobody(cfg: &str, extra_files: &[(&str, &str)]) -> (String, String, String, String) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let mut files = vec![("isolinux/isolinux.cfg", cfg), ("proc/cpuinfo", &cpuinfo)];
    files.extend_from_slice(extra_files);
    let root = tree(&files);
    let out = run(
        r#"gk_plan /isolinux/isolinux.cfg || exit 1
printf '%s\n%s\n%s\n%s\n' "$GK_LABEL" "$GK_CMDLINE" "$GK_M_WAIT" "${GK_M_HAS_UI:-0}""#,
        &[
            ("GK_ROOT", root.path()),
            ("GK_TMP", &root.path().join("tmp")),
            ("GK_PROC", &root.path().join("proc")),
        ],
    );
    assert!(out.ok, "refused:\n{}", out.stderr);
    // The last four lines (gen-kexec's own lines come first).
    let l: Vec<&str> = out.stdout.lines().rev().take(4).collect();
    (l[3].into(), l[2].into(), l[1].into(), l[0].into())
}

fn refused(cfg: &str) -> String {
    let root = tree(&[("isolinux/isolinux.cfg", cfg)]);
    let out = run(
        "gk_plan /isolinux/isolinux.cfg",
        &[
            ("GK_ROOT", root.path()),
            ("GK_TMP", &root.path().join("tmp")),
            ("GK_PROC", &root.path().join("proc")),
        ],
    );
    assert!(!out.ok, "booted:\n{}", out.stdout);
    out.stderr
}

#[test]
fn menu_separator_closes_the_label_and_keeps_menu_default() {
    let (label, ..) = nobody(
        "ui menu.c32\nlabel a\n kernel /a\nlabel b\n menu default\n kernel /b\nmenu separator\nlabel c\n kernel /c\n",
        &[],
    );
    assert_eq!(label, "b");
}

#[test]
fn kernel_with_inline_arguments_then_append_then_initrd_directive() {
    let (label, cmdline, ..) = nobody(
        "default x\nlabel x\n kernel /vmlinuz quiet\n append root=/dev/sda1\n initrd /initrd.img\n",
        &[],
    );
    assert_eq!(label, "x");
    // syslinux: KERNEL's words, APPEND, then " initrd=" of INITRD (dropped:
    // kexec gets it with --initrd).
    assert_eq!(cmdline, "BOOT_IMAGE=/vmlinuz quiet root=/dev/sda1");
}

#[test]
fn append_dash_means_no_global_append() {
    let (_, cmdline, ..) = nobody(
        "append global=1\ndefault x\nlabel x\n kernel /k\n append -\nlabel y\n kernel /k\n",
        &[],
    );
    assert_eq!(cmdline, "BOOT_IMAGE=/k");
    let (_, cmdline, ..) = nobody("append global=1\ndefault y\nlabel y\n kernel /k\n", &[]);
    assert_eq!(cmdline, "BOOT_IMAGE=/k global=1");
}

#[test]
fn label_names_are_the_rest_of_the_line_as_menu_c32_stores_them() {
    let root = tree(&[(
        "isolinux/isolinux.cfg",
        "ui menu.c32\nlabel Live system\n kernel /k\n append a=1\n",
    )]);
    let out = run(
        r#"GK_CONF_LABEL='Live system'; gk_plan /isolinux/isolinux.cfg && echo "[$GK_LABEL] $GK_CMDLINE""#,
        &[
            ("GK_ROOT", root.path()),
            ("GK_TMP", &root.path().join("tmp")),
            ("GK_PROC", &root.path().join("proc")),
        ],
    );
    assert!(
        out.stdout.contains("[Live system] BOOT_IMAGE=/k a=1"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn default_naming_a_kernel_file_boots_it_with_the_global_append() {
    let (label, cmdline, wait, ui) = nobody(
        "append root=/dev/sr0\ndefault /boot/vmlinuz\nprompt 0\n",
        &[],
    );
    assert_eq!(
        (label.as_str(), ui.as_str(), wait.as_str()),
        ("/boot/vmlinuz", "0", "0")
    );
    assert_eq!(cmdline, "BOOT_IMAGE=/boot/vmlinuz root=/dev/sr0");
}

#[test]
fn timeouts_in_tenths_prompt_and_totaltimeout() {
    let l = "label x\n kernel /k\n";
    let wait = |head: &str| nobody(&format!("{head}{l}"), &[]).2;
    assert_eq!(wait("ui menu.c32\ntimeout 50\n"), "500");
    assert_eq!(wait("ui menu.c32\ntimeout 0\n"), "-1");
    assert_eq!(wait("ui menu.c32\ntimeout 0\ntotaltimeout 30\n"), "300");
    assert_eq!(wait("default x\nprompt 0\ntimeout 50\n"), "0");
    assert_eq!(wait("default x\nprompt 1\ntimeout 50\n"), "500");
    assert_eq!(wait("default x\nprompt 1\n"), "-1");
}

#[test]
fn ontimeout_is_what_runs_when_the_menu_times_out() {
    let (label, ..) = nobody(
        "ui menu.c32\ntimeout 10\nontimeout b extra=1\nlabel a\n menu default\n kernel /a\nlabel b\n kernel /b\n",
        &[],
    );
    assert_eq!(label, "b");
    let err = refused(
        "ui menu.c32\ntimeout 10\nontimeout hd\nlabel a\n kernel /a\nlabel hd\n localboot 0\n",
    );
    assert!(
        err.contains("(ONTIMEOUT hd) is not a Linux kernel: LOCALBOOT"),
        "{err}"
    );
}

#[test]
fn menu_hide_and_disable_before_the_first_label_do_not_carry_over() {
    // menu.c32's LABEL clears menuhide and menudisabled (readconfig.c).
    let root = tree(&[(
        "isolinux/isolinux.cfg",
        "ui menu.c32\nmenu hide\nmenu disable\nlabel first\n kernel /f\nlabel second\n kernel /s\n",
    )]);
    let out = run(
        r#"gk_parse_config /isolinux/isolinux.cfg && gk_menu_model
echo "n=$GK_M_N 1=$GK_M_T1 2=$GK_M_T2 def=$GK_M_DEF""#,
        &[
            ("GK_ROOT", root.path()),
            ("GK_TMP", &root.path().join("tmp")),
            ("GK_PROC", &root.path().join("proc")),
        ],
    );
    assert!(
        out.stdout.contains("n=2 1=first 2=second def=1"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn menu_include_with_a_tag_is_a_submenu_and_menu_hide_is_not_shown() {
    let root = tree(&[
        ("isolinux/isolinux.cfg", "ui menu.c32\nmenu include more.cfg More options\nlabel top\n kernel /t\nlabel secret\n menu hide\n kernel /s\n"),
        ("isolinux/more.cfg", "label inner\n menu label ^Inner entry\n kernel /i\n"),
    ]);
    let out = run(
        r#"gk_parse_config /isolinux/isolinux.cfg && gk_menu_model
echo "n=$GK_M_N 1=$GK_M_T1/$GK_M_D1 2=$GK_M_T2/$GK_M_D2 h=$GK_M_H1 def=$GK_M_DEF""#,
        &[
            ("GK_ROOT", root.path()),
            ("GK_TMP", &root.path().join("tmp")),
            ("GK_PROC", &root.path().join("proc")),
        ],
    );
    assert!(
        out.stdout
            .contains("n=2 1=Inner entry/1 2=top/0 h=More options def=2"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn config_with_a_directory_argument_changes_the_working_directory() {
    let (label, cmdline, ..) = nobody(
        "default go\nlabel go\n config /boot/other.cfg /boot\n",
        &[(
            "boot/other.cfg",
            "default k\nlabel k\n kernel vmlinuz\n initrd initrd.gz\n",
        )],
    );
    assert_eq!(label, "k");
    // Relative to the new working directory, /boot.
    assert_eq!(cmdline, "BOOT_IMAGE=vmlinuz");
    let root = tree(&[
        (
            "isolinux/isolinux.cfg",
            "default go\nlabel go\n config /boot/other.cfg /boot\n",
        ),
        (
            "boot/other.cfg",
            "default k\nlabel k\n kernel vmlinuz\n initrd initrd.gz\n",
        ),
    ]);
    let out = run(
        r#"gk_plan /isolinux/isolinux.cfg && echo "$GK_KERNEL $GK_INITRDS""#,
        &[
            ("GK_ROOT", root.path()),
            ("GK_TMP", &root.path().join("tmp")),
            ("GK_PROC", &root.path().join("proc")),
        ],
    );
    assert!(
        out.stdout.contains("/boot/vmlinuz /boot/initrd.gz"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn ifcpu_picks_by_the_cpu_features() {
    let cfg = |feature: &str| {
        format!("default pick\nlabel pick\n com32 ifcpu.c32\n append {feature} -- yes -- no\nlabel yes\n kernel /yes\nlabel no\n kernel /no\n")
    };
    assert_eq!(nobody(&cfg("64"), &[]).0, "yes");
    assert_eq!(nobody(&cfg("no_such_flag_here"), &[]).0, "no");
}

#[test]
fn modules_and_non_linux_entries_are_refused_with_the_reason() {
    for (cfg, why) in [
        (
            "default c\nlabel c\n com32 chain.c32\n append hd0\n",
            "chain.c32 starts another disk's",
        ),
        (
            "default x\nlabel x\n kernel mboot.c32\n append xen.gz --- vmlinuz\n",
            "mboot.c32 starts a multiboot kernel",
        ),
        (
            "default m\nlabel m\n kernel memdisk\n initrd fd.img\n",
            "memdisk emulates a disk through the BIOS",
        ),
        (
            "default m\nlabel m\n kernel /boot/memtest86+.bin\n",
            "is a BIOS program",
        ),
        ("default h\nlabel h\n localboot 0x80\n", "LOCALBOOT"),
    ] {
        let err = refused(cfg);
        assert!(err.contains(why), "{cfg}: {err}");
    }
}
