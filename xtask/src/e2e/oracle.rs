//! The image's own bootloader is the oracle: for a fixture booted both
//! under SeaBIOS (its real isolinux/syslinux) and under UEFI (through
//! gen-kexec, default entry, nobody at the keyboard), the target kernel must
//! have received the same command line, once what each side adds by design
//! is taken out: syslinux's `BOOT_IMAGE=` and the `initrd=` it leaves in
//! place (gen-kexec writes its own `BOOT_IMAGE=` and hands initrds to
//! kexec), and on the UEFI side what gen-kexec.conf appends (`e2e::APPEND`)
//! and the bootloader's `console=` words gen-kexec carries over when the
//! entry names no console. So "reads the config as syslinux does" is
//! measured on every run, not assumed.

use std::fmt::Write;

use super::qemu::Firmware;
use super::runner::CaseResult;
use super::{artifact, fixtures, grubemu, Case};
use crate::ws::Ws;

/// The bootloader a fixture's SeaBIOS boot runs.
pub fn bootloader(fixture: &str) -> &'static str {
    let grub = (super::fixtures::FIXTURES.iter()).any(|f| f.name == fixture && f.layout.grub());
    if grub {
        "GRUB"
    } else {
        "isolinux/syslinux"
    }
}

/// One fixture's comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub fixture: &'static str,
    pub bios: &'static str,
    pub bios_cmdline: String,
    /// The UEFI cases compared, each with its printed command line and
    /// whether it matched.
    pub uefi: Vec<(&'static str, String, bool)>,
    /// The command line both sides agree on (the BIOS one, normalised).
    pub common: String,
}

impl Comparison {
    pub fn matches(&self) -> bool {
        self.uefi.iter().all(|(_, _, ok)| *ok)
    }
}

/// The words syslinux itself adds.
fn syslinux_word(w: &str) -> bool {
    w.starts_with("initrd=") || w.starts_with("BOOT_IMAGE=")
}

/// A legacy boot's command line without what syslinux adds.
pub fn normalise_bios(cmdline: &str) -> Vec<&str> {
    cmdline
        .split_whitespace()
        .filter(|w| !syslinux_word(w))
        .collect()
}

/// A gen-kexec boot's command line without its `BOOT_IMAGE=`, the last
/// occurrence of each word of `append` (gen-kexec.conf's, added at the
/// end), and `console=` words when the legacy side has none (carried over
/// from the bootloader's own command line).
pub fn normalise_uefi<'a>(cmdline: &'a str, append: &str, bios_has_console: bool) -> Vec<&'a str> {
    let mut words: Vec<&str> = cmdline
        .split_whitespace()
        .filter(|w| !syslinux_word(w))
        .collect();
    for a in append.split_whitespace() {
        if let Some(i) = words.iter().rposition(|w| *w == a) {
            words.remove(i);
        }
    }
    if !bios_has_console {
        words.retain(|w| !w.starts_with("console="));
    }
    words
}

/// Every fixture that has a passing SeaBIOS boot and a passing default UEFI
/// boot in `results`, compared.
pub fn compare(results: &[CaseResult], append: &str) -> Vec<Comparison> {
    let passed = |r: &&CaseResult| r.verdict.is_ok() && r.cmdline.is_some();
    let mut out: Vec<Comparison> = Vec::new();
    for bios in results
        .iter()
        .filter(passed)
        .filter(|r| r.case.firmware == Firmware::Bios && r.case.boots_by_default())
    {
        let fixture = bios.case.fixture;
        if out.iter().any(|c| c.fixture == fixture) {
            continue;
        }
        let bios_cmdline = bios.cmdline.clone().unwrap_or_default();
        let want = normalise_bios(&bios_cmdline);
        let has_console = want.iter().any(|w| w.starts_with("console="));
        let uefi: Vec<_> = results
            .iter()
            .filter(passed)
            .filter(|r| r.case.fixture == fixture && r.case.firmware == Firmware::Uefi)
            .filter(|r| r.case.boots_by_default())
            .map(|r| {
                let line = r.cmdline.clone().unwrap_or_default();
                let ok = normalise_uefi(&line, append, has_console) == want;
                (r.case.name, line, ok)
            })
            .collect();
        if uefi.is_empty() {
            continue;
        }
        out.push(Comparison {
            fixture,
            bios: bios.case.name,
            common: want.join(" "),
            bios_cmdline,
            uefi,
        });
    }
    out
}

/// What the e2e output says about each comparison.
pub fn report(comparisons: &[Comparison]) -> String {
    let mut out = String::new();
    for c in comparisons {
        let names: Vec<&str> = c.uefi.iter().map(|(n, _, _)| *n).collect();
        if c.matches() {
            let _ = writeln!(
                out,
                "oracle {}: {} ({}) and {} (gen-kexec) gave the target the same command line: {}",
                c.fixture,
                c.bios,
                bootloader(c.fixture),
                names.join(", "),
                c.common
            );
            continue;
        }
        let _ = writeln!(
            out,
            "oracle {}: MISMATCH: gen-kexec gave the target another command line than the image's own bootloader\n  \
             {:<26} {}",
            c.fixture, c.bios, c.bios_cmdline
        );
        for (name, line, ok) in &c.uefi {
            let _ = writeln!(
                out,
                "  {name:<26} {line}{}",
                if *ok { "" } else { "   <- differs" }
            );
        }
        let _ = writeln!(
            out,
            "  (compared without initrd= and BOOT_IMAGE=, and on the UEFI side without `{}`)",
            super::APPEND
        );
    }
    out
}

/// GRUB itself in user space (grub-emu, [`grubemu`]) on a GRUB fixture,
/// against what its SeaBIOS boots (GRUB) and its default UEFI boots
/// (gen-kexec) gave the target.
#[derive(Debug, Clone)]
pub struct EmuCheck {
    pub fixture: &'static str,
    pub emu: Result<grubemu::Run, String>,
    /// Each passing SeaBIOS boot of the fixture: case, the target's
    /// command line, whether grub-emu chose the same kernel and arguments.
    pub bios: Vec<(&'static str, String, bool)>,
    /// The same for each passing default UEFI boot (gen-kexec's command
    /// line without what gen-kexec.conf appends).
    pub uefi: Vec<(&'static str, String, bool)>,
}

impl EmuCheck {
    pub fn matches(&self) -> bool {
        matches!(&self.emu, Ok(r) if r.booted().is_some())
            && (self.bios.iter().chain(&self.uefi)).all(|(_, _, ok)| *ok)
    }
}

/// Does the command line GRUB gave a target (under SeaBIOS) say what
/// grub-emu's stand-in `linux` received? GRUB adds `BOOT_IMAGE=KERNEL` first.
pub fn emu_agrees(a: &grubemu::Attempt, bios_cmdline: &str) -> bool {
    let boot_image = bios_cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("BOOT_IMAGE="));
    let args: Vec<&str> = a.args.iter().flat_map(|w| w.split_whitespace()).collect();
    boot_image == Some(a.kernel.as_str()) && normalise_bios(bios_cmdline) == args
}

/// Does gen-kexec's command line (UEFI) say what grub-emu's stand-in
/// received, once what gen-kexec.conf appends is taken out?
pub fn emu_agrees_uefi(a: &grubemu::Attempt, uefi_cmdline: &str, append: &str) -> bool {
    let args: Vec<&str> = a.args.iter().flat_map(|w| w.split_whitespace()).collect();
    let console = args.iter().any(|w| w.starts_with("console="));
    normalise_uefi(uefi_cmdline, append, console) == args
}

pub fn check_emu(
    fixture: &'static str,
    emu: Result<grubemu::Run, String>,
    results: &[CaseResult],
    append: &str,
) -> EmuCheck {
    let booted = |fw: Firmware| {
        (results.iter())
            .filter(move |r| r.case.fixture == fixture && r.case.firmware == fw)
            .filter(|r| r.case.boots_by_default() && r.verdict.is_ok())
            .filter_map(|r| Some((r.case.name, r.cmdline.clone()?)))
    };
    let attempt = emu.as_ref().ok().and_then(|r| r.booted());
    let bios = booted(Firmware::Bios)
        .map(|(n, line)| {
            let ok = attempt.is_some_and(|a| emu_agrees(a, &line));
            (n, line, ok)
        })
        .collect();
    let uefi = booted(Firmware::Uefi)
        .map(|(n, line)| {
            let ok = attempt.is_some_and(|a| emu_agrees_uefi(a, &line, append));
            (n, line, ok)
        })
        .collect();
    EmuCheck {
        fixture,
        emu,
        bios,
        uefi,
    }
}

pub fn report_emu(checks: &[EmuCheck]) -> String {
    let mut out = String::new();
    for c in checks {
        let run = match &c.emu {
            Err(e) => {
                let _ = writeln!(out, "grub-emu {}: FAILED: {e}", c.fixture);
                continue;
            }
            Ok(r) => r,
        };
        let Some(a) = run.booted() else {
            let _ = writeln!(
                out,
                "grub-emu {}: GRUB booted no entry (default `{}`, {}); errors: {}",
                c.fixture,
                run.default,
                run.ended,
                run.errors.join("; ")
            );
            continue;
        };
        let _ = writeln!(
            out,
            "grub-emu {}: GRUB boots '{}' (chosen {}, default `{}`, root {}): {} {} {}, initrd {}",
            c.fixture,
            a.title,
            a.chosen,
            run.default,
            a.root,
            a.loader,
            a.kernel,
            a.cmdline(),
            a.initrds.join(" ")
        );
        for (name, line, ok) in &c.bios {
            let _ = writeln!(
                out,
                "  {name}: {} {line}",
                if *ok {
                    "same as GRUB under SeaBIOS:"
                } else {
                    "MISMATCH with GRUB under SeaBIOS:"
                }
            );
        }
        for (name, line, ok) in &c.uefi {
            let _ = writeln!(
                out,
                "  {name}: {} {line}",
                if *ok {
                    "gen-kexec gave the same:"
                } else {
                    "MISMATCH: gen-kexec gave another command line:"
                }
            );
        }
    }
    out
}

/// grub-emu (GRUB in user space) on every GRUB fixture the cases boot,
/// checked against their SeaBIOS boots.
pub fn grub_emu(ws: &Ws, cases: &[Case], results: &[CaseResult]) -> Vec<EmuCheck> {
    let mut out: Vec<EmuCheck> = Vec::new();
    for f in cases.iter().map(Case::fixture) {
        if out.iter().any(|c| c.fixture == f.name) {
            continue;
        }
        let image = artifact::adapted_path(ws, &f);
        let work = ws.build.join("e2e/grub-emu").join(f.name);
        let staged = fixtures::dir(ws).join(f.name).join("root");
        let Some(req) = fixtures::grub::emu_request(&f, &image, &staged, &work) else {
            continue;
        };
        let emu = grubemu::run(&req).map_err(|e| format!("{e:#}"));
        out.push(check_emu(f.name, emu, results, super::APPEND));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e2e::{verdict::Timings, CASES};

    const APPEND: &str = "console=ttyS0,115200 e2e.appended=yes";

    fn result(name: &str, cmdline: &str) -> CaseResult {
        CaseResult {
            case: *CASES.iter().find(|c| c.name == name).unwrap(),
            verdict: Ok(Timings::default()),
            log: "serial.log".into(),
            host_io_stall: None,
            cmdline: Some(cmdline.into()),
            shots: Vec::new(),
        }
    }

    // As recorded: isolinux puts BOOT_IMAGE= first and keeps initrd=;
    // gen-kexec drops initrd= and appends gen-kexec.conf's words.
    const BIOS: &str = "BOOT_IMAGE=gentoo root=/dev/ram0 init=/linuxrc initrd=gentoo.igz console=ttyS0,115200 e2e.label=gentoo";
    const UEFI: &str = "BOOT_IMAGE=gentoo root=/dev/ram0 init=/linuxrc console=ttyS0,115200 e2e.label=gentoo console=ttyS0,115200 e2e.appended=yes";

    #[test]
    fn the_same_command_line_modulo_what_each_side_adds() {
        assert_eq!(
            normalise_bios(BIOS),
            [
                "root=/dev/ram0",
                "init=/linuxrc",
                "console=ttyS0,115200",
                "e2e.label=gentoo"
            ]
        );
        assert_eq!(normalise_uefi(UEFI, APPEND, true), normalise_bios(BIOS));
        // A console= carried over from the bootloader when the entry has none.
        assert_eq!(
            normalise_uefi(
                "BOOT_IMAGE=k quiet console=ttyS0,115200 console=tty0 x=1",
                "x=1",
                false
            ),
            ["quiet"]
        );
    }

    #[test]
    fn matching_fixtures_pass_and_a_difference_is_shown() {
        let results = vec![
            result("iso-bios-usb", BIOS),
            result("iso-uefi-usb", UEFI),
            result(
                "iso-uefi-ahci",
                &UEFI.replace("e2e.label=gentoo", "e2e.label=other"),
            ),
            // Not compared: a person chose another entry; no BIOS boot of ext4.
            result("menu-uefi-serial-number", "e2e.label=nomodeset"),
            result("ext4-uefi-nvme", "e2e.label=arch"),
        ];
        let c = compare(&results, APPEND);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fixture, "iso");
        assert!(!c[0].matches());
        assert_eq!(
            c[0].uefi
                .iter()
                .map(|(n, _, ok)| (*n, *ok))
                .collect::<Vec<_>>(),
            [("iso-uefi-usb", true), ("iso-uefi-ahci", false)]
        );
        let text = report(&c);
        assert!(text.contains("oracle iso: MISMATCH"), "{text}");
        assert!(
            text.contains(BIOS) && text.contains("e2e.label=other"),
            "{text}"
        );
        assert!(text.contains("<- differs"), "{text}");

        let c = compare(&results[..2], APPEND);
        assert!(c[0].matches());
        assert_eq!(
            report(&c),
            "oracle iso: iso-bios-usb (isolinux/syslinux) and iso-uefi-usb (gen-kexec) gave the target \
             the same command line: root=/dev/ram0 init=/linuxrc console=ttyS0,115200 e2e.label=gentoo\n"
        );
    }

    #[test]
    fn grub_emu_agrees_with_what_grub_gave_the_target() {
        let a = grubemu::Attempt {
            kernel: "/boot/vmlinuz-6.1.0-57-amd64".into(),
            args: vec!["root=UUID=u".into(), "ro".into(), "e2e.label=debian".into()],
            ..Default::default()
        };
        assert!(emu_agrees(
            &a,
            "BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=UUID=u ro e2e.label=debian"
        ));
        assert!(!emu_agrees(
            &a,
            "BOOT_IMAGE=/vmlinuz root=UUID=u ro e2e.label=debian"
        ));
        assert!(!emu_agrees(
            &a,
            "BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=UUID=u ro single"
        ));
        assert_eq!(bootloader("grub"), "GRUB");
        assert_eq!(bootloader("iso"), "isolinux/syslinux");
    }

    #[test]
    fn grub_fixtures_are_compared_like_syslinux_ones() {
        // As recorded under SeaBIOS (GRUB); the UEFI line as gen-kexec
        // would give it once it reads grub.cfg.
        let bios = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=UUID=u ro console=ttyS0,115200 e2e.label=debian";
        let uefi = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=UUID=u ro console=ttyS0,115200 e2e.label=debian console=ttyS0,115200 e2e.appended=yes";
        let results = vec![
            result("grub-bios-ahci", bios),
            result("grub-uefi-nvme", uefi),
        ];
        let c = compare(&results, APPEND);
        assert!(c[0].matches());
        assert!(report(&c)
            .starts_with("oracle grub: grub-bios-ahci (GRUB) and grub-uefi-nvme (gen-kexec)"));
        let run = grubemu::Run {
            attempts: vec![grubemu::Attempt {
                kernel: "/boot/vmlinuz-6.1.0-57-amd64".into(),
                args: [
                    "root=UUID=u",
                    "ro",
                    "console=ttyS0,115200",
                    "e2e.label=debian",
                ]
                .map(String::from)
                .to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let e = check_emu("grub", Ok(run.clone()), &results, APPEND);
        assert!(e.matches(), "{e:?}");
        assert_eq!((e.bios.len(), e.uefi.len()), (1, 1));
        let wrong = vec![result("grub-uefi-nvme", &uefi.replace("debian", "other"))];
        let e = check_emu("grub", Ok(run), &wrong, APPEND);
        assert!(!e.matches());
        assert!(report_emu(&[e]).contains("MISMATCH: gen-kexec gave another command line"));
        assert!(!check_emu("grub", Err("no grub-emu".into()), &[], APPEND).matches());
    }

    #[test]
    fn failed_boots_are_not_compared() {
        let mut bios = result("menu-bios-ahci", "e2e.label=live");
        bios.verdict = Err("timed out".into());
        let results = vec![bios, result("menu-uefi-timeout", "e2e.label=live")];
        assert!(compare(&results, APPEND).is_empty());
    }
}
