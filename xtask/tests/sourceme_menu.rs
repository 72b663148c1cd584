//! The boot menu of the runtime library (initramfs-skel/lib/gen-kexec),
//! run under busybox ash on the host: the keys a person types (a file
//! standing for the console, GK_MENU_TTYS=INPUT:OUTPUT), what the menu
//! shows, what it boots; and the parser's budgets on hostile configs.

mod sourceme_harness;

use std::path::Path;
use std::time::{Duration, Instant};

use sourceme_harness::{fixture, run, tree, Output};

/// What `gk_choose` picked after the keys `keys`, and the screen text.
struct Chosen {
    out: Output,
    screen: String,
}

fn choose(root: &Path, keys: &[u8], conf: &str, fstype: &str) -> Chosen {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("keys");
    let screen = tmp.path().join("screen");
    std::fs::write(&input, keys).unwrap();
    std::fs::write(&screen, "").unwrap();
    let conf_path = tmp.path().join("gen-kexec.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let ttys = format!("{}:{}", input.display(), screen.display());
    let snippet = format!(
        r#"GK_FSTYPE={fstype} GK_DEV=/dev/sda1 GK_MENU_TTYS='{ttys}'
GK_PROC=/proc  # the menu's clock (/proc/uptime) and /proc/cpuinfo
gk_read_conf "$GK_CONF"
GK_CFG=$(gk_find_config) || exit 3
gk_choose
status=$?
[ "$status" = 0 ] || {{ echo "status=$status"; exit 0; }}
printf 'label=%s\nkernel=%s\ninitrds=%s\ncmdline=%s\n' "$GK_LABEL" "$GK_KERNEL" "$GK_INITRDS" "$GK_CMDLINE""#
    );
    let out = run(
        &snippet,
        &[
            ("GK_ROOT", root),
            ("GK_CONF", &conf_path),
            ("GK_TMP", &tmp.path().join("tmp")),
        ],
    );
    let screen = std::fs::read_to_string(&screen).unwrap();
    Chosen { out, screen }
}

fn field<'a>(c: &'a Chosen, key: &str) -> &'a str {
    c.out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in\n{}\n{}", c.out.stdout, c.out.stderr))
}

const INSTALL_MENU: &str = "menu-install";

#[test]
fn the_menu_lists_entries_as_menu_c32_does_and_starts_on_menu_default() {
    // A number and Enter: the screen shows the numbered entries first.
    let c = choose(&fixture(INSTALL_MENU), b"1\n", "", "iso9660");
    for line in [
        "gen-kexec e2e menu",
        "  1  Install",
        "2  Live system",
        "3  Live system (safe graphics)",
        "Advanced options:",
        "4  Rescue mode",
        "5  Boot from first hard disk   (not bootable here)",
    ] {
        assert!(
            c.screen.contains(line),
            "no {line:?} on the screen:\n{}",
            c.screen
        );
    }
    // Hidden and MENU EXIT entries are not shown.
    assert!(
        !c.screen.contains("hidden") && !c.screen.contains("Back"),
        "{}",
        c.screen
    );
    assert!(
        c.screen.contains("gen-kexec: menu: shown: 5 entries from /isolinux/isolinux.cfg, default 2 (Live system); booting it in 5 s unless a key is pressed (menu.c32, TIMEOUT 50)"),
        "{}",
        c.screen
    );
    assert_eq!(field(&c, "label"), "install");
}

#[test]
fn nobody_at_the_keyboard_boots_menu_default_despite_the_separator_after_it() {
    let started = Instant::now();
    let c = choose(&fixture(INSTALL_MENU), b"", "menu_timeout=1\n", "iso9660");
    assert_eq!(field(&c, "label"), "live");
    assert!(c
        .out
        .stdout
        .contains("menu: entry 2 (label live) chosen by the timeout"));
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(
        field(&c, "cmdline"),
        "BOOT_IMAGE=/isolinux/vmlinuz console=ttyS0,115200 e2e.label=live"
    );
}

#[test]
fn arrows_move_and_skip_separators_and_submenu_titles() {
    let c = choose(&fixture(INSTALL_MENU), b"\x1b[B\x1b[B\n", "", "iso9660");
    assert_eq!(field(&c, "label"), "rescue");
    let c = choose(&fixture(INSTALL_MENU), b"\x1b[A\n", "", "iso9660");
    assert_eq!(field(&c, "label"), "install");
}

#[test]
fn e_edits_the_command_line_and_backspace_deletes() {
    let c = choose(
        &fixture(INSTALL_MENU),
        b"e e2e.edited=yesX\x7f\n",
        "",
        "iso9660",
    );
    assert_eq!(
        field(&c, "cmdline"),
        "BOOT_IMAGE=/isolinux/vmlinuz console=ttyS0,115200 e2e.label=live e2e.edited=yes"
    );
    assert!(c
        .screen
        .contains("gen-kexec: menu: editing the command line of entry 2"));
    assert!(c
        .screen
        .contains("> initrd=/isolinux/initrd.gz console=ttyS0,115200 e2e.label=live"));
}

#[test]
fn an_entry_gen_kexec_cannot_boot_says_why_and_the_menu_stays() {
    let c = choose(&fixture(INSTALL_MENU), b"5\n3\n", "", "iso9660");
    assert!(
        c.screen.contains("5 is not bootable by gen-kexec: LOCALBOOT starts the BIOS's next boot device (needs a BIOS)"),
        "{}",
        c.screen
    );
    assert_eq!(field(&c, "label"), "nomodeset");
}

#[test]
fn esc_asks_for_the_rescue_shell() {
    let c = choose(&fixture(INSTALL_MENU), b"\x1b", "", "iso9660");
    assert!(c.out.stdout.contains("status=2"), "{}", c.out.stdout);
    assert!(c.out.stdout.contains("leaving to the rescue shell"));
}

#[test]
fn menu_timeout_0_boots_the_default_without_a_menu() {
    let c = choose(&fixture(INSTALL_MENU), b"", "menu_timeout=0\n", "iso9660");
    assert_eq!(field(&c, "label"), "live");
    assert_eq!(c.screen, "");
}

#[test]
fn when_the_timeout_would_boot_something_gen_kexec_cannot_the_menu_waits() {
    // Gentoo's CD: `ontimeout localhost` (LOCALBOOT). Enter boots the
    // highlighted DEFAULT label instead.
    let c = choose(&fixture("gentoo-minimal"), b"\n", "", "iso9660");
    assert!(
        c.screen
            .contains("waiting for a choice (boot: prompt, TIMEOUT 150"),
        "{}",
        c.screen
    );
    assert_eq!(field(&c, "label"), "gentoo");
}

#[test]
fn archiso_whichsys_config_ifcpu64_chain_is_followed_as_isolinux_would() {
    let c = choose(
        &fixture("archiso-chain"),
        b"",
        "menu_timeout=0\n",
        "iso9660",
    );
    assert!(
        c.out.stdout.contains("CONFIG /syslinux/archiso.cfg (label loadconfig in /isolinux/isolinux.cfg): reading it, working directory /syslinux"),
        "{}",
        c.out.stdout
    );
    assert!(
        c.out
            .stdout
            .contains("CONFIG /syslinux/archiso_sys.cfg (label iso"),
        "{}",
        c.out.stdout
    );
    assert_eq!(field(&c, "label"), "arch64");
    assert_eq!(field(&c, "kernel"), "/arch/boot/x86_64/vmlinuz-linux");
    assert_eq!(
        field(&c, "initrds"),
        "/arch/boot/intel-ucode.img /arch/boot/x86_64/initramfs-linux.img"
    );
    // On FAT (syslinux), whichsys picks -sys-: the same file here.
    let c = choose(&fixture("archiso-chain"), b"", "menu_timeout=0\n", "vfat");
    assert!(c
        .out
        .stdout
        .contains("CONFIG /syslinux/archiso_sys.cfg (label sys"));
    // Its menu, as a person sees it after the switch.
    let c = choose(&fixture("archiso-chain"), b"2\n1\n", "", "iso9660");
    assert!(
        c.screen
            .contains("Arch Linux install medium (x86_64, BIOS)"),
        "{}",
        c.screen
    );
    assert!(
        c.screen
            .contains("chain.c32 starts another disk's or partition's boot sector"),
        "{}",
        c.screen
    );
    assert_eq!(field(&c, "label"), "arch64");
}

fn timed(root: &Path) -> (Duration, Output) {
    let started = Instant::now();
    let out = run(
        r#"gk_parse_config /cfg && echo "labels=$GK_NLABELS" && gk_menu_model && echo "entries=$GK_M_N more=$GK_M_MORE""#,
        &[("GK_ROOT", root), ("GK_TMP", &root.join("tmp"))],
    );
    (started.elapsed(), out)
}

#[test]
fn self_includes_are_bounded_by_the_byte_budget() {
    // Each file includes itself three times: 3^16 copies without a budget.
    let mut cfg = String::from("include /cfg\ninclude /cfg\ninclude /cfg\n");
    for i in 0..20 {
        cfg.push_str(&format!("label l{i}\n kernel /k\n append x={i}\n"));
    }
    cfg.push_str(&"# padding the file to a few KB\n".repeat(100));
    let root = tree(&[("cfg", &cfg)]);
    let (took, out) = timed(root.path());
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("more than 128 config files read in all (an include loop?)"),
        "{}",
        out.stderr
    );
    eprintln!("a config including itself 3 times: {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn five_thousand_labels_parse_quickly_and_a_megabyte_line_is_refused() {
    let mut cfg = String::from("default l0\n");
    for i in 0..5000 {
        cfg.push_str(&format!(
            "label l{i}\n  kernel /vmlinuz\n  append root=/dev/sda{i}\n"
        ));
    }
    let root = tree(&[("cfg", &cfg)]);
    let (took, out) = timed(root.path());
    // All parsed (DEFAULT and label= find any of them); the menu shows 500.
    assert!(
        out.stdout.contains("labels=5000"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("entries=500 more=4500"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    eprintln!("5000 labels: parse + menu model {took:?}");
    // < 1 s on an idle machine (README "Reliability"); tests share the cores.
    assert!(took < Duration::from_secs(4), "{took:?}");

    let long = format!(
        "label a\n kernel /k\nappend {}\nlabel b\n kernel /k\n",
        "x".repeat(1 << 20)
    );
    let root = tree(&[("cfg", &long)]);
    let (took, out) = timed(root.path());
    eprintln!("1 MiB line: {took:?}");
    assert!(
        out.stderr.contains("/cfg:3: line longer than 4096 bytes"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("entries=1"), "{}", out.stdout);
    assert!(took < Duration::from_secs(1), "{took:?}");
}
