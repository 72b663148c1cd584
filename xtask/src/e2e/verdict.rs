//! Deciding from a boot's serial lines whether the order of events proves
//! what a case claims (the bootloader's banner, its `gen-kexec:` lines,
//! `kexec -e`, the target's banner with EFI, its marker), and timing the
//! spans in between. Pure: the unit tests feed recorded logs.

use std::time::Duration;

use super::serial::{
    gen_kexec, kernel_banner, kernel_time, menu_choice, target_says, Line, ERROR, ESP_FOUND, EXEC,
    INIT_STARTED, LOAD_DONE, LOAD_START, MENU_SHOWN, PANIC, RESCUE, TARGET,
};

/// What a case expects to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// UEFI: gen-kexec boots the target through kexec.
    Kexec(Target),
    /// SeaBIOS: the image's own isolinux/syslinux or GRUB boots the target.
    Legacy(Target),
    /// gen-kexec fails on purpose: its error, then the rescue shell.
    Rescue {
        bootloader_version: String,
        /// Part of the `gen-kexec: error:` line that must appear.
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `Linux version` of the bootloader (kexec cases).
    pub bootloader_version: String,
    /// `Linux version` of the fixture's kernel.
    pub version: String,
    /// The fixture's marker (its `E2E-TARGET: marker ...` text).
    pub marker: String,
    /// Words the target's /proc/cmdline must hold (the label's own token,
    /// what gen-kexec.conf appends).
    pub cmdline: Vec<String>,
    /// Texts gen-kexec's lines must hold before `kexec -e` (kexec cases),
    /// each in some `gen-kexec:` line.
    pub says: Vec<String>,
}

/// Whether the runner should keep reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Enough seen: the verdict is known.
    Done,
}

impl Expect {
    /// Called on every line as it arrives: stop at the marker, or as soon
    /// as the boot cannot succeed any more (rescue shell, panic), instead
    /// of waiting for the timeout.
    pub fn watch(&self, line: &Line) -> Flow {
        let t = &line.text;
        let rescue = t.contains(RESCUE);
        match self {
            Expect::Kexec(target) | Expect::Legacy(target) => {
                let marker_done = target_says(t) == Some(&format!("marker {}", target.marker)[..]);
                if marker_done || rescue || t.contains(PANIC) {
                    Flow::Done
                } else {
                    Flow::Continue
                }
            }
            Expect::Rescue { .. } if rescue || t.contains(PANIC) => Flow::Done,
            Expect::Rescue { .. } => Flow::Continue,
        }
    }
}

/// Times of a passing case. Spans inside the bootloader are measured on
/// the guest's clock (printk timestamps) when both lines carry one, else
/// on the host's; the others on the host's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    /// QEMU start -> first `gen-kexec:` line (firmware, kernel boot; host).
    pub to_init: Option<Duration>,
    /// `init started` -> `gen-kexec: exec:` (includes device probing).
    pub init_to_exec: Option<Duration>,
    /// `init started` -> `gen-kexec: found` (the ESP): waiting for the
    /// kernel to probe the disk.
    pub probing: Option<Duration>,
    /// `gen-kexec: found` (the ESP) -> `gen-kexec: exec:`: gen-kexec's own
    /// work, device probing excluded (the benchmark: <= 0.3 s).
    pub esp_to_exec: Option<Duration>,
    /// Of `esp_to_exec`: `kexec -l` reading the target's kernel and initrd
    /// from the legacy partition and loading them.
    pub kexec_load: Option<Duration>,
    /// `gen-kexec: found` (the ESP) -> `menu: shown`: reading the config
    /// and drawing the menu (target: <= 0.3 s median).
    pub esp_to_menu: Option<Duration>,
    /// The choice (`menu: entry ... chosen by`, or the edited command
    /// line after it) -> `gen-kexec: exec:` (target: <= 0.3 s median).
    pub choice_to_exec: Option<Duration>,
    /// Whether the spans above come from the guest's clock.
    pub guest_clock: bool,
    /// `gen-kexec: exec:` -> the target's marker (the target's boot; host).
    pub exec_to_marker: Option<Duration>,
    /// QEMU start -> the target's marker, or the rescue shell (host).
    pub total: Duration,
}

/// From line `a` to line `b` (`a` first): on the guest's clock when both
/// are kernel messages, else on the host's. The bool says which.
fn span(lines: &[Line], a: usize, b: usize) -> (Duration, bool) {
    match (kernel_time(&lines[a].text), kernel_time(&lines[b].text)) {
        (Some(x), Some(y)) if y >= x => (y - x, true),
        _ => (lines[b].at.saturating_sub(lines[a].at), false),
    }
}

/// Finds the first line at or after `from` matching `pred`.
fn find(lines: &[Line], from: usize, pred: impl Fn(&str) -> bool) -> Option<usize> {
    lines[from.min(lines.len())..]
        .iter()
        .position(|l| pred(&l.text))
        .map(|i| i + from)
}

fn banner_of(lines: &[Line], from: usize, version: &str) -> Option<usize> {
    find(lines, from, |t| kernel_banner(t) == Some(version))
}

/// Checks the whole log against what the case expects; `Err` says, in a
/// user's terms, the first thing that is missing or out of order.
pub fn verdict(lines: &[Line], expect: &Expect) -> Result<Timings, String> {
    if let Some(i) = find(lines, 0, |t| t.contains(PANIC)) {
        return Err(format!("kernel panic: {}", lines[i].text.trim()));
    }
    match expect {
        Expect::Kexec(target) => kexec_verdict(lines, target),
        Expect::Legacy(target) => legacy_verdict(lines, target),
        Expect::Rescue {
            bootloader_version,
            error,
        } => rescue_verdict(lines, bootloader_version, error),
    }
}

fn rescued(lines: &[Line]) -> Result<(), String> {
    match find(lines, 0, |t| t.contains(RESCUE)) {
        None => Ok(()),
        Some(i) => {
            let why = find(lines, 0, |t| t.contains(ERROR))
                .map(|e| lines[e].text.trim().to_owned())
                .unwrap_or_else(|| "no `gen-kexec: error:` line".to_owned());
            Err(format!(
                "the bootloader dropped to its rescue shell (line {}): {why}",
                i + 1
            ))
        }
    }
}

fn kexec_verdict(lines: &[Line], target: &Target) -> Result<Timings, String> {
    rescued(lines)?;
    let boot = banner_of(lines, 0, &target.bootloader_version).ok_or_else(|| {
        format!(
            "no `Linux version {}` banner: the bootloader kernel did not start (or printed nothing on serial)",
            target.bootloader_version
        )
    })?;
    let init = find(lines, boot, |t| gen_kexec(t).is_some()).ok_or(
        "no `gen-kexec:` line after the bootloader's banner: its /init printed nothing on serial",
    )?;
    let esp = find(lines, init, |t| t.contains(ESP_FOUND));
    let started = find(lines, boot, |t| t.contains(INIT_STARTED)).unwrap_or(init);
    let exec = find(lines, init, |t| t.contains(EXEC)).ok_or_else(|| {
        let last = lines[init..]
            .iter()
            .rev()
            .find_map(|l| gen_kexec(&l.text))
            .unwrap_or("");
        format!("gen-kexec never announced `kexec -e` ({EXEC} ...); its last line: {last}")
    })?;
    for text in &target.says {
        if !lines[init..exec]
            .iter()
            .any(|l| gen_kexec(&l.text).is_some_and(|g| g.contains(text.as_str())))
        {
            return Err(format!("gen-kexec never said `{text}` before `kexec -e`"));
        }
    }
    let banner = banner_of(lines, exec, &target.version).ok_or_else(|| {
        format!(
            "no `Linux version {}` banner after `kexec -e`: the target kernel did not start",
            target.version
        )
    })?;
    find(lines, banner, |t| t.contains("efi: EFI v2")).ok_or(
        "the target kernel printed no `efi: EFI v2...` line: it booted without EFI (the 32-bit bzImage loader?)",
    )?;
    let marker = check_target(lines, banner, target, true)?;
    let at = |i: usize| lines[i].at;
    let esp = esp.filter(|&e| e < exec);
    let load = esp
        .and_then(|e| find(lines, e, |t| t.contains(LOAD_START)))
        .and_then(|a| Some((a, find(lines, a, |t| t.contains(LOAD_DONE))?)))
        .filter(|&(_, b)| b < exec);
    let menu = esp
        .and_then(|e| find(lines, e, |t| t.contains(MENU_SHOWN)))
        .filter(|&m| m < exec);
    let choice = menu.and_then(|m| (m..exec).rev().find(|&i| menu_choice(&lines[i].text)));
    let (init_to_exec, guest_clock) = span(lines, started, exec);
    Ok(Timings {
        to_init: Some(at(init)),
        init_to_exec: Some(init_to_exec),
        probing: esp.map(|e| span(lines, started, e).0),
        esp_to_exec: esp.map(|e| span(lines, e, exec).0),
        kexec_load: load.map(|(a, b)| span(lines, a, b).0),
        esp_to_menu: esp.zip(menu).map(|(e, m)| span(lines, e, m).0),
        choice_to_exec: choice.map(|c| span(lines, c, exec).0),
        guest_clock,
        exec_to_marker: Some(at(marker).saturating_sub(at(exec))),
        total: at(marker),
    })
}

fn legacy_verdict(lines: &[Line], target: &Target) -> Result<Timings, String> {
    if let Some(i) = find(lines, 0, |t| gen_kexec(t).is_some()) {
        return Err(format!(
            "legacy boot ran gen-kexec (line {}): {}",
            i + 1,
            lines[i].text.trim()
        ));
    }
    if banner_of(lines, 0, &target.bootloader_version).is_some() {
        return Err(format!(
            "legacy boot started the bootloader kernel {}",
            target.bootloader_version
        ));
    }
    let banner = banner_of(lines, 0, &target.version).ok_or_else(|| {
        format!(
            "no `Linux version {}` banner: the image's own bootloader (isolinux/syslinux, GRUB) did not start the kernel",
            target.version
        )
    })?;
    let marker = check_target(lines, banner, target, false)?;
    Ok(Timings {
        total: lines[marker].at,
        ..Timings::default()
    })
}

/// The marker /init's lines after the target's banner: EFI as expected, the
/// command line holds every expected word, then the marker itself.
fn check_target(
    lines: &[Line],
    banner: usize,
    target: &Target,
    efi: bool,
) -> Result<usize, String> {
    let marker_text = format!("marker {}", target.marker);
    let marker =
        find(lines, banner, |t| target_says(t) == Some(&marker_text[..])).ok_or_else(|| {
            format!(
                "the target kernel started but its /init never printed `{TARGET} {marker_text}`"
            )
        })?;
    let field = |name: &str| {
        lines[banner..marker]
            .iter()
            .find_map(|l| target_says(&l.text)?.strip_prefix(name).map(str::to_owned))
            .ok_or_else(|| format!("the target's /init printed no `{TARGET} {name}...` line"))
    };
    let want = if efi { "yes" } else { "no" };
    let got = field("efi=")?;
    if !got.starts_with(want) {
        return Err(format!(
            "the target's /sys/firmware/efi: expected efi={want}, got efi={got}"
        ));
    }
    let cmdline = field("cmdline=")?;
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    for w in &target.cmdline {
        if !words.contains(&w.as_str()) {
            return Err(format!("the target's /proc/cmdline lacks `{w}`: {cmdline}"));
        }
    }
    Ok(marker)
}

fn rescue_verdict(
    lines: &[Line],
    bootloader_version: &str,
    error: &str,
) -> Result<Timings, String> {
    let boot = banner_of(lines, 0, bootloader_version).ok_or_else(|| {
        format!("no `Linux version {bootloader_version}` banner: the bootloader did not start")
    })?;
    if let Some(i) = find(lines, boot, |t| t.contains(EXEC)) {
        return Err(format!(
            "expected a failure, but gen-kexec went on to `kexec -e` (line {})",
            i + 1
        ));
    }
    let err = find(lines, boot, |t| t.contains(ERROR) && t.contains(error))
        .ok_or_else(|| format!("no `{ERROR} ...{error}...` line explaining the failure"))?;
    let rescue = find(lines, err, |t| t.contains(RESCUE))
        .ok_or_else(|| format!("gen-kexec reported the error but did not print `{RESCUE}`"))?;
    Ok(Timings {
        total: lines[rescue].at,
        ..Timings::default()
    })
}
