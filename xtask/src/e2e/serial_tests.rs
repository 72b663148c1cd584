//! Tests of the serial-log analysis on logs recorded from real boots (kept
//! short: the lines that matter, with the host times they arrived).

use std::time::Duration;

use super::serial::*;

const BIOS_ISO: &str = include_str!("testdata/bios-iso.timed.log");
const BIOS_GPT: &str = include_str!("testdata/bios-gpt.timed.log");

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

/// The strings the verdicts look for are printed by the bootloader's own
/// scripts: catch a rename here rather than as a failed boot.
#[test]
fn bootloader_scripts_print_what_the_verdicts_read() {
    let root = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let init = std::fs::read_to_string(root.join("initramfs-skel/init")).unwrap();
    let sourceme = std::fs::read_to_string(root.join("scripts/kexec.sourceme")).unwrap();
    let say = |prefix: &str| format!("\"{}", prefix.strip_prefix("gen-kexec: ").unwrap());
    assert!(
        init.contains("say() { $BB echo \"gen-kexec: $*\"; }"),
        "init's say() changed"
    );
    assert!(
        init.contains(&format!("say {}", say(ESP_FOUND))),
        "init no longer says {ESP_FOUND:?}"
    );
    assert!(
        init.contains(&format!("say {}", say(RESCUE))),
        "init no longer says {RESCUE:?}"
    );
    assert!(
        init.contains(&format!("say {}", say(ERROR))),
        "init no longer says {ERROR:?}"
    );
    assert!(
        sourceme.contains("gk_say() { echo \"gen-kexec: $*\"; }"),
        "sourceme's gk_say() changed"
    );
    assert!(
        sourceme.contains(&format!("gk_say {}", say(EXEC))),
        "sourceme no longer says {EXEC:?}"
    );
    assert!(
        sourceme.contains("echo \"gen-kexec: error: $*\""),
        "sourceme's errors changed"
    );
}
