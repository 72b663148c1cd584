//! Running the cases one after the other (2 cores: QEMU under TCG takes one
//! whole), each in its own directory under `build/e2e/runs/CASE/` with a
//! fresh copy of the OVMF variables and the full serial log.

use std::time::Duration;

use anyhow::{Context, Result};
use camino::Utf8PathBuf;

use super::qemu::{self, Accel, Ended, Firmware, Machine, Ovmf};
use super::serial;
use super::verdict::{self, Timings};
use super::{artifact, Case, Outcome};
use crate::fsutil;
use crate::ws::Ws;

/// Serial lines shown when a case fails.
const TAIL: usize = 40;

pub struct CaseResult {
    pub case: Case,
    pub verdict: Result<Timings, String>,
    pub log: Utf8PathBuf,
    /// How long some host task waited on I/O during the boot (Linux PSI),
    /// when the host tells. QEMU reading the image then stalls the guest,
    /// whose clock runs on: those timings measure the host's disk.
    pub host_io_stall: Option<Duration>,
}

/// Total time some task waited on I/O since the host booted:
/// /proc/pressure/io's `some ... total=MICROSECONDS`.
fn host_io_stall_total() -> Option<Duration> {
    parse_io_pressure(&std::fs::read_to_string("/proc/pressure/io").ok()?)
}

fn parse_io_pressure(text: &str) -> Option<Duration> {
    let some = text.lines().find(|l| l.starts_with("some "))?;
    let total = some
        .split_whitespace()
        .find_map(|f| f.strip_prefix("total="))?;
    Some(Duration::from_micros(total.parse().ok()?))
}

pub fn run_cases(
    ws: &Ws,
    cases: &[Case],
    accel: Accel,
    timeout: Duration,
    bootloader_version: &str,
    target_version: &str,
) -> Result<Vec<CaseResult>> {
    let ovmf = if cases.iter().any(|c| c.firmware == Firmware::Uefi) {
        Some(Ovmf::find()?)
    } else {
        None
    };
    let mut results = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let dir = ws.build.join("e2e/runs").join(case.name);
        let log = dir.join("serial.log");
        let pflash = match (case.firmware, &ovmf) {
            (Firmware::Uefi, Some(o)) => Some((o.code.clone(), dir.join("OVMF_VARS.fd"))),
            _ => None,
        };
        let machine = Machine {
            firmware: case.firmware,
            attach: case.attach,
            accel,
            disk: artifact::adapted_path(ws, &case.fixture()),
            pflash,
        };
        let args = qemu::args(&machine);
        if ws.dry_run {
            println!("e2e case {}: {} {}", case.name, qemu::QEMU, args.join(" "));
            continue;
        }
        fsutil::remove_dir_all_if_exists(&dir)?;
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
        if let (Some((_, vars)), Some(o)) = (&machine.pflash, &ovmf) {
            std::fs::copy(&o.vars, vars)
                .with_context(|| format!("cannot copy {} to {vars}", o.vars))?;
        }
        // To rerun the case by hand (with `-serial stdio` on a terminal).
        let cmdline = format!("{} {}\n", qemu::QEMU, args.join(" "));
        fsutil::write_atomic(&dir.join("qemu.cmdline"), cmdline.as_bytes())?;
        println!(
            "e2e [{}/{}] {}: booting ({:?}, {})",
            i + 1,
            cases.len(),
            case.name,
            case.firmware,
            case.attach.name()
        );
        let expect = case.expect(bootloader_version, target_version);
        let stall_before = host_io_stall_total();
        let run = qemu::run(&args, &log, timeout, |line| expect.watch(line))
            .with_context(|| format!("e2e case {}", case.name))?;
        let host_io_stall = stall_before
            .zip(host_io_stall_total())
            .map(|(before, after)| after.saturating_sub(before));
        let timed = dir.join("serial.timed.log");
        fsutil::write_atomic(&timed, serial::format_timed(&run.lines).as_bytes())?;
        let mut verdict = verdict::verdict(&run.lines, &expect);
        if let Err(why) = &mut verdict {
            match &run.ended {
                Ended::TimedOut => {
                    why.push_str(&format!(" (timed out after {} s)", timeout.as_secs()))
                }
                Ended::Exited(code) if *code != Some(0) => {
                    let stderr = qemu::stderr_of(&log);
                    why.push_str(&format!(" (QEMU exited with {code:?}: {})", stderr.trim()));
                }
                _ => {}
            }
        }
        match &verdict {
            Ok(t) => {
                println!(
                    "e2e [{}/{}] {}: pass in {:.1} s",
                    i + 1,
                    cases.len(),
                    case.name,
                    t.total.as_secs_f64()
                );
                if let Outcome::Rescue(_) = case.outcome {
                    // The proof, in the words a user would see.
                    for l in run.lines.iter().filter(|l| {
                        l.text.contains(serial::ERROR) || l.text.contains(serial::RESCUE)
                    }) {
                        println!("  {:>7.2}s | {}", l.at.as_secs_f64(), l.text);
                    }
                }
            }
            Err(why) => {
                eprintln!("e2e [{}/{}] {}: FAIL: {why}", i + 1, cases.len(), case.name);
                eprintln!("  last {TAIL} lines of serial output:");
                for l in serial::tail(&run.lines, TAIL) {
                    eprintln!("  {:>7.2}s | {}", l.at.as_secs_f64(), l.text);
                }
                eprintln!("  full log: {log} (with host times: {timed})");
            }
        }
        results.push(CaseResult {
            case: *case,
            verdict,
            log,
            host_io_stall,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_pressure_is_read_from_the_some_line() {
        let text = "some avg10=0.30 avg60=0.29 avg300=0.25 total=80802342\n\
                    full avg10=0.00 avg60=0.11 avg300=0.20 total=54082130\n";
        assert_eq!(
            parse_io_pressure(text),
            Some(Duration::from_micros(80_802_342))
        );
        assert_eq!(parse_io_pressure("full avg10=0 total=5\n"), None);
        assert_eq!(parse_io_pressure(""), None);
    }
}
