//! Running the cases one after the other (2 cores: QEMU under TCG takes one
//! whole), each in its own directory under `build/e2e/runs/CASE/` with a
//! fresh copy of the OVMF variables and the full serial log.

use std::time::Duration;

use anyhow::{Context, Result};
use camino::Utf8PathBuf;

use super::qemu::{self, Accel, Ended, Firmware, Machine, Ovmf};
use super::serial::{self, Timings};
use super::{artifact, Case, Outcome};
use crate::fsutil;
use crate::ws::Ws;

/// Serial lines shown when a case fails.
const TAIL: usize = 40;

pub struct CaseResult {
    pub case: Case,
    pub verdict: Result<Timings, String>,
    pub log: Utf8PathBuf,
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
        let run = qemu::run(&args, &log, timeout, |line| expect.watch(line))
            .with_context(|| format!("e2e case {}", case.name))?;
        let timed = dir.join("serial.timed.log");
        fsutil::write_atomic(&timed, serial::format_timed(&run.lines).as_bytes())?;
        let mut verdict = serial::verdict(&run.lines, &expect);
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
        });
    }
    Ok(results)
}
