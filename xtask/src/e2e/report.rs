//! What `cargo xtask e2e` prints: the case list and the timing table.
//!
//! Times come from the host's clock at the moment each serial line
//! arrived: QEMU start -> the bootloader's init (first `gen-kexec:` line),
//! init -> `kexec -e` (the `gen-kexec: exec:` line), and `kexec -e` -> the
//! target's marker. `ESP->exec` is gen-kexec's own work once its partition
//! is found (the benchmark target: <= 0.3 s), device probing excluded.

use std::fmt::Write;
use std::time::Duration;

use super::runner::CaseResult;
use super::{Case, Outcome};

pub fn list(cases: &[Case]) -> String {
    let mut out = String::new();
    for c in cases {
        let what = match c.outcome {
            Outcome::Boots => "boots the target".to_owned(),
            Outcome::Rescue(e) => format!("must fail: rescue shell after `{e}`"),
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

pub fn table(results: &[CaseResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<26} {:<6} {:<10} {:<6} {:>11} {:>11} {:>10} {:>13} {:>9}",
        "case",
        "fw",
        "disk",
        "result",
        "QEMU->init",
        "init->exec",
        "ESP->exec",
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
            "{:<26} {:<6} {:<10} {:<6} {:>11} {:>11} {:>10} {:>13} {:>9}",
            c.name,
            fw(c),
            c.attach.name(),
            result,
            secs(t.and_then(|t| t.to_init)),
            secs(t.and_then(|t| t.init_to_exec)),
            secs(t.and_then(|t| t.esp_to_exec)),
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
    let esp: Vec<f64> = results
        .iter()
        .filter_map(|r| r.verdict.as_ref().ok()?.esp_to_exec)
        .map(|d| d.as_secs_f64())
        .collect();
    if let Some(max) = esp.iter().cloned().reduce(f64::max) {
        let _ = writeln!(
            out,
            "ESP found -> kexec -e: max {max:.2} s over {} boots (target <= 0.30 s; host clock, TCG-emulated guest)",
            esp.len()
        );
    }
    out
}
