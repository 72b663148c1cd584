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
        // settings do not matter there: one such boot per layout).
        assert_eq!(
            of(Firmware::Bios).count() >= 1,
            f.layout.bios_bootable() && f.settings.is_empty(),
            "{}",
            f.name
        );
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
