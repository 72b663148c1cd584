//! The case matrix and the plan, without QEMU.

use super::*;

#[test]
fn cases_are_unique_and_cover_each_disk_and_firmware() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), CASES.len());
    for f in fixtures::FIXTURES.iter().filter(|f| !f.broken) {
        let of = |fw| {
            CASES
                .iter()
                .filter(move |c| c.fixture == f.name && c.firmware == fw)
        };
        assert!(
            of(Firmware::Uefi).count() >= 1,
            "{} has no UEFI case",
            f.name
        );
        // Legacy boot proves adapt-image kept the image bootable,
        // wherever the fixture can be BIOS-booted at all (gen-kexec.conf
        // settings do not matter there: one such boot per layout, beside
        // the UEFI boots of the same image, menu or not).
        let variant = f.settings.iter().any(|(k, _)| *k != "menu_timeout");
        assert_eq!(
            of(Firmware::Bios).count() >= 1,
            f.layout.bios_bootable() && !variant,
            "{}",
            f.name
        );
        // The oracle compares each BIOS boot with a default UEFI boot.
        if of(Firmware::Bios).count() >= 1 {
            assert!(
                of(Firmware::Uefi).any(|c| c.boots_by_default()),
                "{}",
                f.name
            );
        }
    }
    for name in ["iso", "gpt"] {
        let attaches: Vec<Attach> = CASES
            .iter()
            .filter(|c| c.fixture == name && c.firmware == Firmware::Uefi)
            .map(|c| c.attach)
            .collect();
        assert!(
            attaches.len() >= 3,
            "{name}: USB, AHCI and NVMe or virtio under UEFI"
        );
    }
    for attach in [
        Attach::UsbXhci,
        Attach::Ahci,
        Attach::Nvme,
        Attach::VirtioBlk,
    ] {
        assert!(CASES
            .iter()
            .any(|c| c.attach == attach && c.firmware == Firmware::Uefi));
    }
    assert!(CASES
        .iter()
        .any(|c| matches!(c.outcome, Outcome::Rescue(_))));
}

#[test]
fn expectations_follow_firmware_and_outcome() {
    let by = |n| {
        CASES
            .iter()
            .find(|c| c.name == n)
            .unwrap()
            .expect("6.12.107", "6.1.0-56-amd64")
    };
    match by("gpt-uefi-usb") {
        verdict::Expect::Kexec(t) => {
            assert_eq!(
                t.cmdline,
                ["e2e.label=live", "console=ttyS0,115200", "e2e.appended=yes"]
            );
            assert_eq!(t.marker, "gpt-reached-init");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(by("iso-bios-usb"), verdict::Expect::Legacy(t) if t.cmdline == ["e2e.label=gentoo"])
    );
    assert!(matches!(
        by("iso-uefi-missing-kernel"),
        verdict::Expect::Rescue { .. }
    ));
}

#[test]
fn unknown_case_lists_the_known_ones() {
    let err = select(&["nope".into()]).unwrap_err().to_string();
    assert!(
        err.contains("no e2e case named `nope`") && err.contains("iso-uefi-usb"),
        "{err}"
    );
}

#[test]
fn menu_cases_prove_the_choice_by_the_targets_command_line() {
    let by = |n| *CASES.iter().find(|c| c.name == n).unwrap();
    let target = |n| match by(n).expect("6.12.107", "6.1.0-56-amd64") {
        verdict::Expect::Kexec(t) => t,
        other => panic!("{other:?}"),
    };
    // Nobody at the keyboard: the MENU DEFAULT entry, after the countdown.
    let t = target("menu-uefi-timeout");
    assert!(t.cmdline.contains(&"e2e.label=live".to_owned()));
    assert!(t.says.iter().any(|s| s.contains("chosen by the timeout")));
    assert!(by("menu-uefi-timeout").boots_by_default());
    // Entry 3 by number on serial, entry 4 (two down from the default, in
    // the submenu) on the screen's keyboard.
    let t = target("menu-uefi-serial-number");
    assert!(t.cmdline.contains(&"e2e.label=nomodeset".to_owned()));
    assert!(t.says.iter().any(|s| s.ends_with("chosen by /dev/ttyS0")));
    assert_eq!(
        by("menu-uefi-serial-number").script,
        [script::on(MENU_SHOWN, Action::SendSerial(b"3\r"))]
    );
    let t = target("menu-uefi-arrows");
    assert!(t.cmdline.contains(&"e2e.label=rescue".to_owned()));
    assert!(t.says.iter().any(|s| s.ends_with("chosen by /dev/tty1")));
    // The editor: the default entry with what was typed.
    let t = target("menu-uefi-edit");
    for w in ["e2e.label=live", "e2e.edited=yes", "e2e.appended=yes"] {
        assert!(t.cmdline.contains(&w.to_owned()), "{w}");
    }
    assert_eq!(TYPE_EDITED.last(), Some(&"ret"));
    for c in CASES.iter().filter(|c| !c.script.is_empty()) {
        assert!(!c.boots_by_default(), "{}", c.name);
        assert_eq!(c.firmware, Firmware::Uefi, "{}", c.name);
        for step in c.script {
            if let Action::SendKeys(keys) = step.action {
                for k in keys {
                    monitor::key_arguments(k).unwrap();
                }
            }
        }
    }
    // The BIOS boot of the same ISO: isolinux's menu.c32 boots the default.
    assert!(matches!(
        by("menu-bios-ahci").expect("6.12.107", "6.1.0-56-amd64"),
        verdict::Expect::Legacy(t) if t.cmdline == ["e2e.label=live"]
    ));
}

#[test]
fn the_menu_figures_come_from_the_menu_fixtures_only() {
    let bench = benchmarked_cases();
    for c in &bench {
        let f = c.fixture();
        assert!(f.benchmarked != f.menu, "{}", c.name);
        // Without a menu, ESP -> exec measures what it did before the menu.
        if f.benchmarked {
            assert_eq!(f.settings, [("menu_timeout", "0")], "{}", c.name);
        }
    }
    assert!(bench.iter().any(|c| c.fixture == "menu"));
    assert!(
        bench.iter().any(|c| c.fixture == "grub"),
        "the GRUB menu's figures"
    );
    assert!(bench.iter().any(|c| c.fixture == "iso"));
}

#[test]
fn grub_uefi_cases_wait_for_the_runtime_and_bios_ones_run() {
    let grub: Vec<&Case> = CASES.iter().filter(|c| c.fixture().layout.grub()).collect();
    assert!(grub.len() >= 12);
    for c in &grub {
        // SeaBIOS boots GRUB itself; UEFI needs gen-kexec's GRUB parser.
        assert_eq!(
            c.needs_grub_runtime,
            c.firmware == Firmware::Uefi,
            "{}",
            c.name
        );
        assert_eq!(
            c.enabled(),
            GRUB_RUNTIME || c.firmware == Firmware::Bios,
            "{}",
            c.name
        );
    }
    for f in ["grub", "grubboot", "grubiso", "grublegacy"] {
        for attach in [Attach::UsbXhci, Attach::Nvme] {
            assert!(
                grub.iter()
                    .any(|c| c.fixture == f && c.firmware == Firmware::Uefi && c.attach == attach),
                "{f} {attach:?}"
            );
        }
    }
    let default_run = select(&[]).unwrap();
    assert_eq!(
        default_run.iter().any(|c| c.needs_grub_runtime),
        GRUB_RUNTIME
    );
    assert!(default_run.iter().any(|c| c.name == "grub-bios-ahci"));
    // Named, a waiting case still runs.
    assert_eq!(select(&["grub-uefi-nvme".into()]).unwrap().len(), 1);
    assert!(benchmarked_cases().iter().all(|c| c.enabled()));
}

#[test]
fn the_median_of_two_boots_is_their_mean_not_the_slower() {
    use super::report::median_max;
    let ms = |v: &[u64]| median_max(v.iter().map(|&m| Duration::from_millis(m)));
    assert_eq!(ms(&[]), None);
    assert_eq!(
        ms(&[300, 100]),
        Some((Duration::from_millis(200), Duration::from_millis(300), 2))
    );
    assert_eq!(
        ms(&[300, 100, 200]),
        Some((Duration::from_millis(200), Duration::from_millis(300), 3))
    );
    assert_eq!(
        ms(&[5]),
        Some((Duration::from_millis(5), Duration::from_millis(5), 1))
    );
}
