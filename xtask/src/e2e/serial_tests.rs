//! Tests of the serial-log analysis on logs recorded from real boots (kept
//! short: the lines that matter, with the host times they arrived).

use std::time::Duration;

use super::serial::*;
use super::verdict::*;

const BIOS_ISO: &str = include_str!("testdata/bios-iso.timed.log");
const BIOS_GPT: &str = include_str!("testdata/bios-gpt.timed.log");
const UEFI_ISO: &str = include_str!("testdata/uefi-iso-usb.timed.log");

const BOOTLOADER: &str = "6.12.107";
const DEBIAN: &str = "6.1.0-56-amd64";

fn lines(recording: &str) -> Vec<Line> {
    parse_timed(recording).unwrap()
}

fn target(marker: &str, cmdline: &[&str]) -> Target {
    Target {
        bootloader_version: BOOTLOADER.into(),
        version: DEBIAN.into(),
        marker: marker.into(),
        cmdline: cmdline.iter().map(|s| s.to_string()).collect(),
        says: Vec::new(),
    }
}

#[test]
fn clean_removes_escapes_and_carriage_returns() {
    assert_eq!(
        clean("\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading\r\n"),
        "BdsDxe: loading"
    );
    assert_eq!(
        clean("\x1b%@\x1b)0\x1b(B\x1b[0;37;40mLoading ok\x1b[K"),
        "Loading ok"
    );
    assert_eq!(clean("tab\there"), "tab\there");
}

#[test]
fn banner_and_gen_kexec_lines_are_recognised() {
    let l = lines(BIOS_ISO);
    let banners: Vec<&str> = l.iter().filter_map(|l| kernel_banner(&l.text)).collect();
    assert_eq!(banners, [DEBIAN]);
    assert_eq!(
        gen_kexec("[    1.2] x gen-kexec: found /dev/sda2"),
        Some("gen-kexec: found /dev/sda2")
    );
    assert_eq!(
        target_says("E2E-TARGET: marker iso-reached-init"),
        Some("marker iso-reached-init")
    );
}

#[test]
fn timed_logs_round_trip() {
    let l = lines(BIOS_GPT);
    assert_eq!(parse_timed(&format_timed(&l)).unwrap(), l);
    assert_eq!(l[0].at, Duration::from_millis(679));
    assert!(parse_timed("1.0 no separator")
        .unwrap_err()
        .contains("line 1"));
}

#[test]
fn legacy_iso_boot_passes() {
    let t = verdict(
        &lines(BIOS_ISO),
        &Expect::Legacy(target("iso-reached-init", &["e2e.label=gentoo"])),
    )
    .unwrap();
    assert_eq!(t.total, Duration::from_millis(18_508));
    assert_eq!(t.to_init, None);
}

#[test]
fn kexec_boot_passes_with_guest_clock_spans() {
    let words = ["e2e.label=gentoo", "e2e.appended=yes"];
    let t = verdict(
        &lines(UEFI_ISO),
        &Expect::Kexec(target("iso-reached-init", &words)),
    )
    .unwrap();
    assert!(t.guest_clock);
    // printk times: found 2.017008, load 2.114056 -> 2.452530, exec 2.467768.
    assert_eq!(t.probing, Some(Duration::from_micros(2_017_008 - 954_750)));
    assert_eq!(
        t.esp_to_exec,
        Some(Duration::from_micros(2_467_768 - 2_017_008))
    );
    assert_eq!(
        t.kexec_load,
        Some(Duration::from_micros(2_452_530 - 2_114_056))
    );
    assert_eq!(t.total, Duration::from_millis(10_565));
}

#[test]
fn a_kexec_boot_must_show_what_gen_kexec_was_expected_to_say() {
    let words = ["e2e.label=gentoo", "e2e.appended=yes"];
    let mut t = target("iso-reached-init", &words);
    t.says = vec!["kexec load: ok".into()];
    verdict(&lines(UEFI_ISO), &Expect::Kexec(t.clone())).unwrap();
    t.says.push("nothing loaded below 16 MiB".into());
    let err = verdict(&lines(UEFI_ISO), &Expect::Kexec(t)).unwrap_err();
    assert_eq!(
        err,
        "gen-kexec never said `nothing loaded below 16 MiB` before `kexec -e`"
    );
}

#[test]
fn a_kexec_boot_without_the_target_banner_fails() {
    let cut: String = UEFI_ISO
        .lines()
        .filter(|l| !l.contains("6.1.0-56-amd64"))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = verdict(
        &lines(&cut),
        &Expect::Kexec(target("iso-reached-init", &[])),
    )
    .unwrap_err();
    assert!(err.contains("the target kernel did not start"), "{err}");
}

#[test]
fn legacy_menu_boot_checks_the_menu_default_label() {
    let l = lines(BIOS_GPT);
    verdict(
        &l,
        &Expect::Legacy(target("gpt-reached-init", &["e2e.label=live"])),
    )
    .unwrap();
    let err = verdict(
        &l,
        &Expect::Legacy(target("gpt-reached-init", &["e2e.label=rescue"])),
    )
    .unwrap_err();
    assert!(err.contains("lacks `e2e.label=rescue`"), "{err}");
}

#[test]
fn wrong_marker_or_missing_kexec_fails_with_the_reason() {
    let l = lines(BIOS_ISO);
    let err = verdict(&l, &Expect::Legacy(target("gpt-reached-init", &[]))).unwrap_err();
    assert!(
        err.contains("never printed `E2E-TARGET: marker gpt-reached-init`"),
        "{err}"
    );
    // A legacy log is no proof of a kexec boot.
    let err = verdict(&l, &Expect::Kexec(target("iso-reached-init", &[]))).unwrap_err();
    assert!(err.contains("no `Linux version 6.12.107` banner"), "{err}");
    // EFI expected: the legacy boot's /init said efi=no.
    let mut l2 = l.clone();
    l2.insert(
        4,
        Line {
            at: Duration::ZERO,
            text: "[ 0.0] Linux version 6.12.107 (gk@gk)".into(),
        },
    );
    l2.insert(
        5,
        Line {
            at: Duration::ZERO,
            text: "gen-kexec: init started".into(),
        },
    );
    l2.insert(
        6,
        Line {
            at: Duration::ZERO,
            text: "gen-kexec: exec: booting label gentoo".into(),
        },
    );
    l2.insert(
        8,
        Line {
            at: Duration::ZERO,
            text: "[ 0.0] efi: EFI v2.7 by EDK II".into(),
        },
    );
    let err = verdict(&l2, &Expect::Kexec(target("iso-reached-init", &[]))).unwrap_err();
    assert!(err.contains("expected efi=yes, got efi=no"), "{err}");
}

#[test]
fn legacy_boot_must_not_run_gen_kexec() {
    let mut l = lines(BIOS_ISO);
    l.insert(
        3,
        Line {
            at: Duration::ZERO,
            text: "gen-kexec: init started".into(),
        },
    );
    let err = verdict(&l, &Expect::Legacy(target("iso-reached-init", &[]))).unwrap_err();
    assert!(err.contains("legacy boot ran gen-kexec (line 4)"), "{err}");
}

#[test]
fn watch_stops_at_the_marker_or_a_panic() {
    let e = Expect::Legacy(target("iso-reached-init", &[]));
    let at = |text: &str| Line {
        at: Duration::ZERO,
        text: text.into(),
    };
    assert_eq!(
        e.watch(&at("E2E-TARGET: marker iso-reached-init")),
        Flow::Done
    );
    assert_eq!(
        e.watch(&at("E2E-TARGET: marker gpt-reached-init")),
        Flow::Continue
    );
    assert_eq!(
        e.watch(&at("[ 1.0] Kernel panic - not syncing: VFS")),
        Flow::Done
    );
    assert_eq!(
        e.watch(&at(
            "gen-kexec: starting a rescue shell (exit it to get a new one)"
        )),
        Flow::Done
    );
}

#[test]
fn kernel_timestamps_are_read_from_kmsg_lines() {
    assert_eq!(
        kernel_time("[    2.345678] gen-kexec: init started"),
        Some(Duration::from_micros(2_345_678))
    );
    assert_eq!(
        kernel_time("[12345.000001] x"),
        Some(Duration::from_micros(12_345_000_001))
    );
    assert_eq!(kernel_time("gen-kexec: init started"), None);
    assert_eq!(kernel_time("[ 1.2] short fraction"), None);
    assert_eq!(kernel_time("[    x.000000] not a number"), None);
}

fn workspace() -> &'static camino::Utf8Path {
    camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(workspace().join(rel)).unwrap()
}

/// The strings the verdicts look for are printed by the bootloader's own
/// scripts: catch a rename here rather than as a failed boot.
#[test]
fn bootloader_scripts_print_what_the_verdicts_read() {
    let init = read("initramfs-skel/init");
    // The runtime library kexec.sourceme calls, all of it.
    let mut sourceme = read("scripts/kexec.sourceme");
    let lib = workspace().join("initramfs-skel/lib/gen-kexec");
    let mut parts: Vec<_> = std::fs::read_dir(&lib)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    for p in parts {
        sourceme.push_str(&std::fs::read_to_string(p).unwrap());
    }
    let say = |prefix: &str| format!("\"{}", prefix.strip_prefix("gen-kexec: ").unwrap());
    for (what, text) in [
        (INIT_STARTED, &init),
        (ESP_FOUND, &init),
        (RESCUE, &init),
        (ERROR, &init),
    ] {
        assert!(
            text.contains(&format!("say {}", say(what))),
            "init no longer says {what:?}"
        );
    }
    assert!(
        sourceme.contains(&format!("gk_say {}", say(EXEC))),
        "sourceme no longer says {EXEC:?}"
    );
    assert!(
        sourceme.contains("gk_fail() { gk_log 3 \"error: $*\""),
        "sourceme's errors changed"
    );
    // The menu's lines (gk_menu_note and gk_say add `gen-kexec: menu: `).
    let menu = |prefix: &str| prefix.strip_prefix("gen-kexec: menu: ").unwrap().to_owned();
    for (what, call) in [
        (MENU_SHOWN, format!("gk_menu_note \"{}: ", menu(MENU_SHOWN))),
        (
            MENU_EDITING,
            format!("gk_menu_note \"{}", menu(MENU_EDITING)),
        ),
        (MENU_EDITED, format!("gk_menu_note \"{}", menu(MENU_EDITED))),
        (MENU_ENTRY, format!("gk_say \\\"menu: {}", menu(MENU_ENTRY))),
    ] {
        assert!(
            sourceme.contains(&call),
            "the menu no longer says {what:?} ({call})"
        );
    }
    assert!(sourceme.contains(&format!("){MENU_CHOSEN}$GK_CHOICE_BY")));
}

/// The text of shell function `name` in `script` (from `name() {` to the
/// first line that is just `}`).
fn shell_function(script: &str, name: &str) -> String {
    let start = script
        .find(&format!("\n{name}() {{\n"))
        .unwrap_or_else(|| panic!("no function {name}() in the script"));
    let body = &script[start..];
    let end = body.find("\n}\n").expect("the function ends with `}`") + 3;
    body[..end].to_owned()
}

/// Runs `script` under the initramfs's shell (busybox ash) with `env`.
fn ash(script: &str, env: &[(&str, &str)]) -> (String, String) {
    let busybox = super::fixtures::BUSYBOX;
    assert!(
        std::path::Path::new(busybox).exists(),
        "{busybox} not found: this test runs the bootloader's shell code under busybox ash; \
         install Debian's busybox-static (`cargo xtask host-deps --test`)"
    );
    let out = std::process::Command::new(busybox)
        .args(["sh", "-euc", script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}\n{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// /init's and kexec.sourceme's lines go to the kernel log (so printk
/// shows them on the screen and on serial) at levels below the default
/// console loglevel (7), and to plain output where there is no kmsg.
#[test]
fn bootloader_lines_go_to_kmsg_at_visible_levels_or_fall_back_to_echo() {
    let dir = tempfile::tempdir().unwrap();
    let kmsg = dir.path().join("kmsg");
    let kmsg = kmsg.to_str().unwrap();
    let missing = dir.path().join("no-devtmpfs-yet/kmsg");
    let missing = missing.to_str().unwrap();

    let init = read("initramfs-skel/init");
    assert!(
        init.contains("\nexport GK_KMSG=/dev/kmsg\n"),
        "init's GK_KMSG"
    );
    let layout = read("initramfs-skel/layout.toml");
    assert!(
        layout.contains("path = \"dev/kmsg\"\ntype = \"char\"\nmajor = 1\nminor = 11\n"),
        "/dev/kmsg must be in the initramfs before devtmpfs is mounted"
    );
    let say = shell_function(&init, "say");
    let calls = "say 'init started (busybox ash, PID 1)'; say 'error: no partition'";
    let script = format!("{say}\n{calls}");
    let env = [("BB", super::fixtures::BUSYBOX), ("GK_KMSG", kmsg)];
    assert_eq!(ash(&script, &env), (String::new(), String::new()));
    assert_eq!(
        std::fs::read_to_string(kmsg).unwrap(),
        "<5>gen-kexec: init started (busybox ash, PID 1)\n<3>gen-kexec: error: no partition\n"
    );
    let env = [("BB", super::fixtures::BUSYBOX), ("GK_KMSG", missing)];
    assert_eq!(
        ash(&script, &env).0,
        "gen-kexec: init started (busybox ash, PID 1)\ngen-kexec: error: no partition\n"
    );

    let sourceme = workspace().join("scripts/kexec.sourceme");
    let script = format!(
        ". {sourceme}; gk_say 'exec: booting label gentoo'; gk_warn 'odd'; gk_fail 'kernel /k is not on /dev/sda1' || true"
    );
    std::fs::remove_file(kmsg).unwrap();
    let lib = workspace().join("initramfs-skel/lib/gen-kexec");
    let lib = lib.as_str();
    let env = [("GK_NO_MAIN", "1"), ("GK_LIB", lib), ("GK_KMSG", kmsg)];
    assert_eq!(ash(&script, &env), (String::new(), String::new()));
    assert_eq!(
        std::fs::read_to_string(kmsg).unwrap(),
        "<5>gen-kexec: exec: booting label gentoo\n<4>gen-kexec: warning: odd\n\
         <3>gen-kexec: error: kernel /k is not on /dev/sda1\n"
    );
    // The host tests' way: no GK_KMSG, stdout and stderr.
    for env in [
        vec![("GK_NO_MAIN", "1"), ("GK_LIB", lib)],
        vec![("GK_NO_MAIN", "1"), ("GK_LIB", lib), ("GK_KMSG", missing)],
    ] {
        assert_eq!(
            ash(&script, &env),
            (
                "gen-kexec: exec: booting label gentoo\n".to_owned(),
                "gen-kexec: warning: odd\ngen-kexec: error: kernel /k is not on /dev/sda1\n"
                    .to_owned()
            )
        );
    }
}

/// UEFI_ISO with the boot menu's lines where kexec.sourceme prints them:
/// after parsing, before loading; `edited` adds the command line editor.
fn with_menu(edited: bool) -> Vec<Line> {
    let mut out = Vec::new();
    for l in lines(UEFI_ISO) {
        let after_label = l.text.contains("gen-kexec: label gentoo");
        out.push(l.clone());
        if after_label {
            let at = |ms| l.at + Duration::from_millis(ms);
            let mut add = |ms, text: &str| {
                out.push(Line {
                    at: at(ms),
                    text: text.to_owned(),
                })
            };
            add(1, "[    2.105800] gen-kexec: menu: shown: 1 entries from /isolinux/isolinux.cfg, default 1 (gentoo); booting it in 5 s unless a key is pressed");
            add(
                2,
                "[    2.106000] gen-kexec: menu: entry 1 (label gentoo) chosen by /dev/ttyS0",
            );
            if edited {
                add(
                    3,
                    "[    2.106200] gen-kexec: menu: editing the command line of entry 1",
                );
                add(4, "[    2.107000] gen-kexec: menu: edited command line: root=/dev/ram0 e2e.edited=yes");
            }
        }
    }
    out
}

#[test]
fn menu_spans_esp_to_menu_and_choice_to_exec() {
    let words = ["e2e.label=gentoo"];
    let expect = Expect::Kexec(target("iso-reached-init", &words));
    let t = verdict(&lines(UEFI_ISO), &expect).unwrap();
    assert_eq!((t.esp_to_menu, t.choice_to_exec), (None, None));
    let t = verdict(&with_menu(false), &expect).unwrap();
    assert_eq!(
        t.esp_to_menu,
        Some(Duration::from_micros(2_105_800 - 2_017_008))
    );
    assert_eq!(
        t.choice_to_exec,
        Some(Duration::from_micros(2_467_768 - 2_106_000))
    );
    // After editing, the choice is complete with the edited line.
    let t = verdict(&with_menu(true), &expect).unwrap();
    assert_eq!(
        t.choice_to_exec,
        Some(Duration::from_micros(2_467_768 - 2_107_000))
    );
    assert!(menu_choice(
        "[ 3.0] gen-kexec: menu: entry 4 (label rescue) chosen by /dev/tty1"
    ));
    assert!(menu_choice("gen-kexec: menu: edited command line: a b"));
    assert!(!menu_choice("gen-kexec: menu: shown: 5 entries"));
    assert!(!menu_choice(
        "gen-kexec: label live (chosen by MENU DEFAULT)"
    ));
    assert_eq!(
        target_cmdline("E2E-TARGET: cmdline=BOOT_IMAGE=x a=b"),
        Some("BOOT_IMAGE=x a=b")
    );
}
