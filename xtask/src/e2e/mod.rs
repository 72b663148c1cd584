//! `cargo xtask e2e`: the proof that the product works. Builds (or reuses)
//! the bootloader, adapts legacy fixture images with `adapt-image`, boots
//! each in QEMU under OVMF attached as a USB stick, an AHCI disk, an NVMe or
//! virtio disk, and under SeaBIOS, and checks from the serial output that
//! the events happened in the order only a kexec boot produces.
//!
//! The cases are data ([`CASES`]); `--list` prints them, `--case NAME` runs
//! one. `iso-uefi-missing-kernel` is a permanent negative case: its image
//! names a kernel that is not there, and it passes only when gen-kexec says
//! so and starts its rescue shell (rather than hanging until a timeout).
//!
//! The machine has a screen and a keyboard too (`-vga std`, no window;
//! QMP): every UEFI case saves what the screen showed (`menu.png` when
//! gen-kexec's menu is up, `target.png` when the target reached its marker)
//! and checks it (not blank; the target's picture is not the menu's). The
//! `menu-uefi-*` cases play what a person does at the menu ([`script`]:
//! a number on the serial console, arrow keys or the editor on the screen's
//! keyboard), proven by the command line the target prints. After the runs
//! [`oracle`] compares, per fixture, the command line the image's own
//! isolinux/syslinux or GRUB gave the target under SeaBIOS with gen-kexec's,
//! and [`grubemu`] runs GRUB itself in user space on each GRUB fixture: it
//! must choose what GRUB booted under SeaBIOS.

mod artifact;
mod fixtures;
pub mod grubemu;
#[cfg(test)]
mod grubemu_tests;
mod host;
mod initrd;
mod monitor;
mod oracle;
mod qemu;
pub mod report;
pub mod runner;
mod screen;
mod script;
mod serial;
#[cfg(test)]
mod serial_tests;
mod verdict;

use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::hostdeps;
use crate::ws::Ws;
use fixtures::Fixture;
use qemu::{Accel, Attach, Firmware, Keyboard};
use script::{on, then, Action};
use serial::{MENU_EDITING, MENU_SHOWN};

#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Run only this case (repeatable); see --list.
    #[arg(long = "case", value_name = "NAME")]
    pub cases: Vec<String>,
    /// List the cases and exit.
    #[arg(long)]
    pub list: bool,
    /// Also copy each case's screenshots to DIR/CASE-NAME.png (e.g. the
    /// menu's picture for the README).
    #[arg(long, value_name = "DIR")]
    pub save_screenshots: Option<camino::Utf8PathBuf>,
    /// Seconds a case may take [default: 150 under TCG, 60 with KVM].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// QEMU accelerator: auto probes KVM (it may exist and still not work).
    #[arg(long, value_enum, default_value_t)]
    pub accel: AccelChoice,
    /// Boot the bootloader of this kernel profile (`cargo xtask tarball
    /// --profile NAME`) [default: tiny].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    #[default]
    Auto,
    Kvm,
    Tcg,
}

/// What a case must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The target's kernel boots (through gen-kexec under UEFI, through
    /// the image's own isolinux/syslinux or GRUB under SeaBIOS) and reaches
    /// its marker.
    Boots,
    /// gen-kexec fails with an error containing this text, then offers
    /// its rescue shell.
    Rescue(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub name: &'static str,
    pub fixture: &'static str,
    pub firmware: Firmware,
    pub attach: Attach,
    /// The keyboard `script`'s keys are typed on.
    pub keyboard: Keyboard,
    pub outcome: Outcome,
    /// What a person does during the boot (empty: nobody touches a key).
    pub script: &'static [script::Step],
    /// The label that must boot when it is not the fixture's default (a
    /// person chose another entry at the menu).
    pub label: Option<&'static str>,
    /// More words the target's command line must hold (typed in the
    /// menu's editor).
    pub cmdline: &'static [&'static str],
    /// More texts gen-kexec must say before `kexec -e` (how the entry was
    /// chosen), besides the fixture's.
    pub says: &'static [&'static str],
    /// Needs gen-kexec's GRUB parser (issue 14's runtime part): left out of
    /// the default run until [`GRUB_RUNTIME`] is true; `--case NAME` still
    /// runs it.
    pub needs_grub_runtime: bool,
}

/// Whether gen-kexec's runtime reads GRUB configs (branch issue14-runtime
/// merged). Until then the GRUB fixtures' UEFI cases are expected to fail
/// ("no isolinux.cfg, syslinux.cfg or extlinux.conf") and are not in the
/// default run; their SeaBIOS cases (GRUB itself) are.
pub const GRUB_RUNTIME: bool = true;

const fn case(
    name: &'static str,
    fixture: &'static str,
    firmware: Firmware,
    attach: Attach,
) -> Case {
    Case {
        name,
        fixture,
        firmware,
        attach,
        keyboard: Keyboard::Ps2,
        outcome: Outcome::Boots,
        script: &[],
        label: None,
        cmdline: &[],
        says: &[],
        needs_grub_runtime: false,
    }
}

/// A UEFI case of a GRUB fixture: gen-kexec must read GRUB's config.
const fn grub_uefi(name: &'static str, fixture: &'static str, attach: Attach) -> Case {
    Case {
        needs_grub_runtime: true,
        ..case(name, fixture, Firmware::Uefi, attach)
    }
}

/// What the `menu` fixture's menu says when nobody touches a key.
const MENU_TIMEOUT_SAYS: &[&str] = &[
    "menu: shown: 5 entries from /isolinux/isolinux.cfg, default 2 (Live system)",
    "menu: entry 2 (label live) chosen by the timeout",
];

/// The test matrix: every fixture through every kind of disk under UEFI,
/// each once under SeaBIOS, the fallback load (no room below load_below)
/// and the negative case.
pub const CASES: &[Case] = &[
    case("iso-uefi-usb", "iso", Firmware::Uefi, Attach::UsbXhci),
    case("iso-uefi-ahci", "iso", Firmware::Uefi, Attach::Ahci),
    case("iso-uefi-nvme", "iso", Firmware::Uefi, Attach::Nvme),
    case("iso-bios-usb", "iso", Firmware::Bios, Attach::UsbXhci),
    case("gpt-uefi-usb", "gpt", Firmware::Uefi, Attach::UsbXhci),
    case("gpt-uefi-ahci", "gpt", Firmware::Uefi, Attach::Ahci),
    case("gpt-uefi-virtio", "gpt", Firmware::Uefi, Attach::VirtioBlk),
    case("gpt-bios-ahci", "gpt", Firmware::Bios, Attach::Ahci),
    case("ext4-uefi-nvme", "ext4", Firmware::Uefi, Attach::Nvme),
    case(
        "iso-uefi-load-anywhere",
        "iso-load-anywhere",
        Firmware::Uefi,
        Attach::Ahci,
    ),
    Case {
        outcome: Outcome::Rescue("kernel /isolinux/gentoo-missing"),
        ..case(
            "iso-uefi-missing-kernel",
            "iso-missing-kernel",
            Firmware::Uefi,
            Attach::Ahci,
        )
    },
    // A distribution ISO's menu (menu.c32): its own isolinux under SeaBIOS,
    // gen-kexec's menu of the same entries under UEFI, left alone, then
    // driven from the serial console and from the screen's keyboard.
    case("menu-bios-ahci", "menu", Firmware::Bios, Attach::Ahci),
    Case {
        says: MENU_TIMEOUT_SAYS,
        ..case("menu-uefi-timeout", "menu", Firmware::Uefi, Attach::Ahci)
    },
    Case {
        script: &[on(MENU_SHOWN, Action::SendSerial(b"3\r"))],
        label: Some("nomodeset"),
        says: &["menu: entry 3 (label nomodeset) chosen by /dev/ttyS0"],
        ..case(
            "menu-uefi-serial-number",
            "menu",
            Firmware::Uefi,
            Attach::Ahci,
        )
    },
    Case {
        script: &[on(MENU_SHOWN, Action::SendKeys(&["down", "down", "ret"]))],
        label: Some("rescue"),
        says: &["menu: entry 4 (label rescue) chosen by /dev/tty1"],
        ..case("menu-uefi-arrows", "menu", Firmware::Uefi, Attach::UsbXhci)
    },
    // A desktop: the only keyboard is a USB one (no i8042). It may still be
    // enumerating when the menu comes up, as on a real PC; a person takes
    // a moment to read the menu before pressing a key.
    Case {
        keyboard: Keyboard::Usb,
        script: &[
            on(MENU_SHOWN, Action::Pause(Duration::from_millis(1500))),
            then(Action::SendKeys(&["up", "ret"])),
        ],
        label: Some("install"),
        says: &["menu: entry 1 (label install) chosen by /dev/tty1"],
        ..case(
            "menu-uefi-usb-keyboard",
            "menu",
            Firmware::Uefi,
            Attach::Nvme,
        )
    },
    Case {
        script: &[
            on(MENU_SHOWN, Action::SendKeys(&["e"])),
            on(MENU_EDITING, Action::SendKeys(TYPE_EDITED)),
        ],
        cmdline: &["e2e.edited=yes"],
        says: &[
            "menu: editing the command line of entry 2",
            "menu: edited command line: ",
        ],
        ..case("menu-uefi-edit", "menu", Firmware::Uefi, Attach::Ahci)
    },
    // GRUB 2 images (issue 14): each boots under SeaBIOS with its own GRUB
    // into the default entry, and through gen-kexec under UEFI.
    case("grub-bios-ahci", "grub", Firmware::Bios, Attach::Ahci),
    grub_uefi("grub-uefi-usb", "grub", Attach::UsbXhci),
    grub_uefi("grub-uefi-nvme", "grub", Attach::Nvme),
    case(
        "grubboot-bios-usb",
        "grubboot",
        Firmware::Bios,
        Attach::UsbXhci,
    ),
    grub_uefi("grubboot-uefi-usb", "grubboot", Attach::UsbXhci),
    grub_uefi("grubboot-uefi-nvme", "grubboot", Attach::Nvme),
    case(
        "grubiso-bios-usb",
        "grubiso",
        Firmware::Bios,
        Attach::UsbXhci,
    ),
    grub_uefi("grubiso-uefi-usb", "grubiso", Attach::UsbXhci),
    grub_uefi("grubiso-uefi-nvme", "grubiso", Attach::Nvme),
    // A GRUB legacy menu.lst (read by GRUB 2's legacycfg under SeaBIOS).
    case(
        "grublegacy-bios-ahci",
        "grublegacy",
        Firmware::Bios,
        Attach::Ahci,
    ),
    grub_uefi("grublegacy-uefi-usb", "grublegacy", Attach::UsbXhci),
    grub_uefi("grublegacy-uefi-nvme", "grublegacy", Attach::Nvme),
];

/// ` e2e.edited=yes` and Enter, on the screen's keyboard.
const TYPE_EDITED: &[&str] = &[
    "spc", "e", "2", "e", "dot", "e", "d", "i", "t", "e", "d", "equal", "y", "e", "s", "ret",
];

/// What gen-kexec.conf appends to the target's command line: its console
/// on serial, and a word the target's /proc/cmdline must show.
pub const APPEND: &str = "console=ttyS0,115200 e2e.appended=yes";

impl Case {
    /// In the default run (no `--case`): see [`GRUB_RUNTIME`].
    pub fn enabled(&self) -> bool {
        GRUB_RUNTIME || !self.needs_grub_runtime
    }

    /// Boots the image's default entry, as nobody at the keyboard would:
    /// what the oracle compares with the image's own bootloader.
    pub fn boots_by_default(&self) -> bool {
        self.outcome == Outcome::Boots && self.script.is_empty() && self.label.is_none()
    }

    pub fn fixture(&self) -> Fixture {
        *fixtures::FIXTURES
            .iter()
            .find(|f| f.name == self.fixture)
            .expect("every case names a fixture in FIXTURES")
    }

    /// What the serial log must show, given the two kernels' versions.
    pub fn expect(&self, bootloader_version: &str, target_version: &str) -> verdict::Expect {
        let f = self.fixture();
        let mut cmdline = vec![format!("e2e.label={}", self.label.unwrap_or(f.label))];
        if self.firmware == Firmware::Uefi {
            cmdline.extend(APPEND.split_whitespace().map(str::to_owned));
        }
        cmdline.extend(self.cmdline.iter().map(|s| s.to_string()));
        let target = verdict::Target {
            bootloader_version: bootloader_version.to_owned(),
            version: target_version.to_owned(),
            marker: f.marker(),
            cmdline,
            says: (f.says.iter().chain(self.says))
                .map(|s| s.to_string())
                .collect(),
        };
        match (self.outcome, self.firmware) {
            (Outcome::Rescue(error), _) => verdict::Expect::Rescue {
                bootloader_version: bootloader_version.to_owned(),
                error: error.to_owned(),
            },
            (Outcome::Boots, Firmware::Uefi) => verdict::Expect::Kexec(target),
            (Outcome::Boots, Firmware::Bios) => verdict::Expect::Legacy(target),
        }
    }
}

pub fn run(ws: &Ws, args: &Args) -> Result<()> {
    if args.list {
        print!("{}", report::list(CASES));
        return Ok(());
    }
    let cases = select(&args.cases)?;
    let profile = args.profile.as_deref();
    let results = boot(ws, &cases, args.accel, args.timeout, profile)?;
    if ws.dry_run {
        return Ok(());
    }
    print!("{}", report::table(&results));
    print!("{}", report::screenshots(&results));
    let comparisons = oracle::compare(&results, APPEND);
    print!("{}", oracle::report(&comparisons));
    let emu_checks = oracle::grub_emu(ws, &cases, &results);
    print!("{}", oracle::report_emu(&emu_checks));
    if let Some(dir) = &args.save_screenshots {
        save_screenshots(&results, dir)?;
    }
    let failed = report::failed(&results);
    let mismatched: Vec<&str> = (comparisons.iter())
        .filter(|c| !c.matches())
        .map(|c| c.fixture)
        .collect();
    let emu_failed: Vec<&str> = (emu_checks.iter())
        .filter(|c| !c.matches())
        .map(|c| c.fixture)
        .collect();
    if !failed.is_empty() || !mismatched.is_empty() || !emu_failed.is_empty() {
        let mut why = Vec::new();
        if !failed.is_empty() {
            why.push(format!(
                "{} of {} cases failed: {}",
                failed.len(),
                results.len(),
                failed.join(", ")
            ));
        }
        if !mismatched.is_empty() {
            why.push(format!(
                "the oracle found other command lines than the image's own bootloader's for {}",
                mismatched.join(", ")
            ));
        }
        if !emu_failed.is_empty() {
            why.push(format!(
                "grub-emu did not boot what GRUB booted under SeaBIOS for {}",
                emu_failed.join(", ")
            ));
        }
        bail!("e2e: {}", why.join("; "));
    }
    println!("e2e: all {} cases passed", results.len());
    Ok(())
}

/// `--save-screenshots DIR`: each case's pictures as DIR/CASE-NAME.png.
fn save_screenshots(results: &[runner::CaseResult], dir: &camino::Utf8Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    for r in results {
        for (name, path) in &r.shots {
            let to = dir.join(format!("{}-{name}.png", r.case.name));
            std::fs::copy(path, &to).with_context(|| format!("cannot copy {path} to {to}"))?;
            println!("e2e: saved {to}");
        }
    }
    Ok(())
}

/// The UEFI cases that count in the boot-time figures (`cargo xtask
/// bench`): gen-kexec's own work with no menu, and the menu's (ESP found ->
/// menu, choice -> `kexec -e`).
pub fn benchmarked_cases() -> Vec<Case> {
    CASES
        .iter()
        .filter(|c| c.outcome == Outcome::Boots && c.firmware == Firmware::Uefi)
        .filter(|c| c.enabled())
        .filter(|c| c.fixture().benchmarked || c.fixture().menu)
        .copied()
        .collect()
}

/// Build what `cases` need (artifact, fixtures, adapted images) and boot
/// each; nothing is printed about the results.
pub fn boot(
    ws: &Ws,
    cases: &[Case],
    accel: AccelChoice,
    timeout: Option<u64>,
    profile: Option<&str>,
) -> Result<Vec<runner::CaseResult>> {
    let mut wanted: Vec<&str> = hostdeps::TEST.to_vec();
    wanted.extend_from_slice(hostdeps::BUILD);
    hostdeps::ensure(ws, &wanted, false).context("e2e: host packages")?;

    let kernel = fixtures::distro_kernel().context("e2e: the fixtures' kernel")?;
    let bootloader_version = ws
        .lock()?
        .component
        .get("linux")
        .context("sources.lock has no linux")?
        .version
        .clone();
    if bootloader_version == kernel.release {
        bail!(
            "e2e: the fixtures' kernel ({}) has the bootloader's version {bootloader_version}: \
             the serial log could not tell the two kernels apart",
            kernel.path
        );
    }
    let mut fixture_list: Vec<Fixture> = Vec::new();
    for f in cases.iter().map(Case::fixture) {
        if !fixture_list.contains(&f) {
            fixture_list.push(f);
        }
    }
    let mut steps = fixtures::steps(ws, &kernel, &fixture_list).context("e2e: fixtures")?;
    let tarball =
        artifact::product_tarball(ws, profile).context("e2e: the product (cargo xtask tarball)")?;
    steps.extend(artifact::adapt_steps(ws, &tarball, &fixture_list)?);
    crate::plan::execute(ws, &steps).context("e2e: fixtures and adapted images")?;

    let accel = match accel {
        AccelChoice::Kvm => Accel::Kvm,
        AccelChoice::Tcg => Accel::Tcg,
        AccelChoice::Auto if ws.dry_run => Accel::Tcg,
        AccelChoice::Auto => host::probe(ws, &kernel)?,
    };
    if !ws.dry_run {
        host::flush_writes();
    }
    let timeout = Duration::from_secs(timeout.unwrap_or(match accel {
        Accel::Kvm => 60,
        Accel::Tcg => 150,
    }));
    runner::run_cases(
        ws,
        cases,
        accel,
        timeout,
        &bootloader_version,
        &kernel.release,
    )
}

fn select(names: &[String]) -> Result<Vec<Case>> {
    if names.is_empty() {
        return Ok(CASES.iter().filter(|c| c.enabled()).copied().collect());
    }
    names
        .iter()
        .map(|n| {
            CASES
                .iter()
                .find(|c| c.name == n)
                .copied()
                .with_context(|| {
                    let known: Vec<&str> = CASES.iter().map(|c| c.name).collect();
                    format!(
                        "no e2e case named `{n}`; the cases are: {}",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests;
