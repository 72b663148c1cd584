//! What `cargo xtask e2e` prints: the case list and the timing table.
//!
//! Per case: QEMU start -> the bootloader's first `gen-kexec:` line (firmware
//! and kernel boot, host clock); inside the bootloader, on its own clock
//! (printk timestamps): device probing (`init started` -> `found` the ESP),
//! gen-kexec's own work (`found` -> `exec:`, the benchmark target: <= 0.3 s)
//! and both together; then `kexec -e` -> the target's marker (host clock).
//! With the boot menu: `found` -> the menu on the screen (reading the config
//! and drawing it) and the choice -> `kexec -e` (both targets: <= 0.3 s
//! median), on the bootloader's clock too.

use std::fmt::Write;
use std::time::Duration;

use super::runner::CaseResult;
use super::verdict::Timings;
use super::{Case, Outcome};

pub fn list(cases: &[Case]) -> String {
    let mut out = String::new();
    for c in cases {
        let what = match c.outcome {
            Outcome::Boots if c.script.is_empty() => "boots the target".to_owned(),
            Outcome::Boots => {
                let steps: Vec<String> = (c.script.iter())
                    .map(|s| match s.on {
                        Some(t) => format!("on `{t}`: {}", super::script::describe(s.action)),
                        None => super::script::describe(s.action),
                    })
                    .collect();
                format!(
                    "boots `{}` after: {}",
                    c.label.unwrap_or(c.fixture().label),
                    steps.join("; ")
                )
            }
            Outcome::Rescue(e) => format!("must fail: rescue shell after `{e}`"),
        };
        let what = if c.enabled() {
            what
        } else {
            format!("{what} (not run by default: needs gen-kexec's GRUB parser, e2e::GRUB_RUNTIME)")
        };
        let _ = writeln!(
            out,
            "{:<26} {:<6} {:<10} {:<20} {what}",
            c.name,
            fw(c),
            c.attach.name(),
            c.fixture
        );
    }
    out
}

fn fw(c: &Case) -> &'static str {
    match c.firmware {
        super::Firmware::Uefi => "uefi",
        super::Firmware::Bios => "bios",
    }
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()))
}

/// A boot during which the host waited longer than this on I/O is not
/// counted in the boot-time figures (normally it is a few milliseconds).
const HOST_STALL_LIMIT: Duration = Duration::from_millis(500);

fn stalled(r: &CaseResult) -> Option<Duration> {
    r.host_io_stall.filter(|&d| d > HOST_STALL_LIMIT)
}

/// The kexec boots the boot-time figures count: passed (legacy boots and
/// expected failures have no spans), not slow on purpose (gen-kexec.conf),
/// no host I/O stall.
pub fn timed_boots(results: &[CaseResult]) -> Vec<&Timings> {
    results
        .iter()
        .filter(|r| r.case.fixture().benchmarked && stalled(r).is_none())
        .filter_map(|r| r.verdict.as_ref().ok())
        .filter(|t| t.esp_to_exec.is_some())
        .collect()
}

/// The config families whose menus are timed apart (parsing a GRUB
/// config is other work than a syslinux one).
pub const MENU_FAMILIES: [&str; 2] = ["syslinux", "GRUB"];

/// The boots that showed gen-kexec's menu of a `family` config (the
/// menu's figures): passed, no host I/O stall.
pub fn menu_boots<'r>(results: &'r [CaseResult], family: &str) -> Vec<&'r Timings> {
    results
        .iter()
        .filter(|r| stalled(r).is_none())
        .filter(|r| {
            (if r.case.fixture().layout.grub() {
                "GRUB"
            } else {
                "syslinux"
            }) == family
        })
        .filter_map(|r| r.verdict.as_ref().ok())
        .filter(|t| t.esp_to_menu.is_some())
        .collect()
}

/// Where each case's screenshots are, for a person to look at.
pub fn screenshots(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for r in results.iter().filter(|r| !r.shots.is_empty()) {
        let paths: Vec<&str> = r.shots.iter().map(|(_, p)| p.as_str()).collect();
        let _ = writeln!(out, "screens of {}: {}", r.case.name, paths.join(" "));
    }
    out
}

pub fn table(results: &[CaseResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<26} {:<6} {:<10} {:<6} {:>11} {:>9} {:>10} {:>10} {:>13} {:>11} {:>13} {:>9}",
        "case",
        "fw",
        "disk",
        "result",
        "QEMU->init",
        "probing",
        "ESP->menu",
        "ESP->exec",
        "choice->exec",
        "init->exec",
        "exec->marker",
        "total"
    );
    for r in results {
        let c = &r.case;
        let (result, t) = match &r.verdict {
            Ok(t) => ("pass", Some(t)),
            Err(_) => ("FAIL", None),
        };
        let _ = writeln!(
            out,
            "{:<26} {:<6} {:<10} {:<6} {:>11} {:>9} {:>10} {:>10} {:>13} {:>11} {:>13} {:>9}",
            c.name,
            fw(c),
            c.attach.name(),
            result,
            secs(t.and_then(|t| t.to_init)),
            secs(t.and_then(|t| t.probing)),
            secs(t.and_then(|t| t.esp_to_menu)),
            secs(t.and_then(|t| t.esp_to_exec)),
            secs(t.and_then(|t| t.choice_to_exec)),
            secs(t.and_then(|t| t.init_to_exec)),
            secs(t.and_then(|t| t.exec_to_marker)),
            secs(t.map(|t| t.total)),
        );
    }
    for r in results.iter().filter(|r| r.verdict.is_err()) {
        let _ = writeln!(
            out,
            "{}: {} (log: {})",
            r.case.name,
            r.verdict.as_ref().unwrap_err(),
            r.log
        );
    }
    for r in results {
        if let Some(d) = stalled(r) {
            let _ = writeln!(
                out,
                "note: {}: the host waited {:.1} s on I/O during this boot (/proc/pressure/io); \
                 QEMU stalls with it while the guest clock runs on, so its times measure the \
                 host's disk, not gen-kexec: not counted below",
                r.case.name,
                d.as_secs_f64()
            );
        }
    }
    let passed = timed_boots(results);
    let clock = if passed.iter().all(|t| t.guest_clock) {
        "guest clock (printk timestamps)"
    } else {
        "host clock: some lines had no printk timestamp"
    };
    if let Some(s) = stats(passed.iter().filter_map(|t| t.esp_to_exec)) {
        let _ = writeln!(
            out,
            "ESP found -> kexec -e (gen-kexec's own work): {s} (target <= 0.30 s; {clock}, TCG-emulated guest)"
        );
    }
    let rest = passed
        .iter()
        .filter_map(|t| Some(t.esp_to_exec? - t.kexec_load?));
    if let (Some(load), Some(rest)) = (
        stats(passed.iter().filter_map(|t| t.kexec_load)),
        stats(rest),
    ) {
        let _ = writeln!(
            out,
            "  of which `kexec -l` reading and loading the target's kernel and initrd: {load}\n  \
             and the rest (mount the ESP, find, mount and parse the boot config): {rest}"
        );
    }
    let not_counted: Vec<&str> = results
        .iter()
        .filter(|r| {
            !r.case.fixture().benchmarked
                && r.verdict.as_ref().is_ok_and(|t| t.esp_to_exec.is_some())
        })
        .map(|r| r.case.name)
        .collect();
    if !not_counted.is_empty() {
        let _ = writeln!(
            out,
            "  not counted: {} (a slower path on purpose: its gen-kexec.conf, or a menu waiting for a choice)",
            not_counted.join(", ")
        );
    }
    if let Some(s) = stats(passed.iter().filter_map(|t| t.probing)) {
        let _ = writeln!(
            out,
            "init -> ESP found (device probing, excluded above): {s}"
        );
    }
    for family in MENU_FAMILIES {
        let menus = menu_boots(results, family);
        if let Some(s) = stats(menus.iter().filter_map(|t| t.esp_to_menu)) {
            let _ = writeln!(
                out,
                "ESP found -> menu on the screen (read the {family} config, draw the menu): {s} (target <= 0.30 s median)"
            );
        }
        if let Some(s) = stats(menus.iter().filter_map(|t| t.choice_to_exec)) {
            let _ = writeln!(
                out,
                "choice made (key or timeout) -> kexec -e, {family} menus: {s} (target <= 0.30 s median)"
            );
        }
    }
    out
}

/// Median and max of `spans`, and how many there are; None when none.
/// (Of an even count, the mean of the middle two: of two boots, not the
/// slower one.)
pub fn median_max(spans: impl Iterator<Item = Duration>) -> Option<(Duration, Duration, usize)> {
    let mut v: Vec<Duration> = spans.collect();
    v.sort();
    let n = v.len();
    let median = (*v.get((n.max(1) - 1) / 2)? + *v.get(n / 2)?) / 2;
    Some((median, *v.last()?, n))
}

/// `max X s, median Y s over N boots` of `spans`.
fn stats(spans: impl Iterator<Item = Duration>) -> Option<String> {
    let (median, max, n) = median_max(spans)?;
    Some(format!(
        "max {:.3} s, median {:.3} s over {n} boots",
        max.as_secs_f64(),
        median.as_secs_f64()
    ))
}

/// The cases that failed, by name.
pub fn failed(results: &[CaseResult]) -> Vec<&'static str> {
    (results.iter())
        .filter(|r| r.verdict.is_err())
        .map(|r| r.case.name)
        .collect()
}
