//! Running the cases one after the other (2 cores: QEMU under TCG takes one
//! whole), each in its own directory under `build/e2e/runs/CASE/` with a
//! fresh copy of the OVMF variables, the full serial log and the
//! screenshots (`menu.png` when gen-kexec's menu is up, `target.png` when
//! the target kernel reached its marker, `rescue.png` at a rescue shell).

use std::time::Duration;

use anyhow::{Context, Result};
use camino::Utf8PathBuf;

use super::qemu::{self, Accel, Ended, Firmware, Machine, Ovmf};
use super::script::{self, on, then, Action, Script};
use super::serial::{self, Line};
use super::verdict::{self, Timings};
use super::{artifact, Case, Outcome};
use super::{monitor, screen};
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
    /// The target's command line as it printed it (`E2E-TARGET: cmdline=`).
    pub cmdline: Option<String>,
    /// The screenshots taken (`menu`, `target`, ...), PNG files.
    pub shots: Vec<(String, Utf8PathBuf)>,
}

/// The screenshots every case takes, one script each (so a picture that
/// never comes does not hold up the others): the menu once it is drawn,
/// the target's screen the moment its marker line arrives (it powers off
/// right after), a rescue shell's screen.
fn camera(case: &Case) -> Vec<Script> {
    let mut scripts = Vec::new();
    if case.firmware == Firmware::Uefi {
        scripts.push(Script::new(&[
            on(serial::MENU_SHOWN, Action::Pause(script::SETTLE)),
            then(Action::Screenshot("menu")),
        ]));
        match case.outcome {
            Outcome::Boots => scripts.push(Script::on_owned(
                format!("{} marker {}", serial::TARGET, case.fixture().marker()),
                Action::Screenshot("target"),
            )),
            Outcome::Rescue(_) => scripts.push(Script::new(&[
                on(serial::RESCUE, Action::Pause(script::SETTLE)),
                then(Action::Screenshot("rescue")),
            ])),
        }
    }
    scripts
}

/// The pictures a case must have taken, and what each must show: not
/// blank, and the target's screen not the menu's.
fn check_shots(case: &Case, shots: &[(String, Utf8PathBuf)]) -> Result<(), String> {
    let mut pictures = Vec::new();
    for (name, path) in shots {
        let p = read_png(path).map_err(|e| format!("{name}.png: {e}"))?;
        if let Some(why) = screen::blank(&p) {
            return Err(format!("{name}.png: {why} ({path})"));
        }
        pictures.push((name.as_str(), p));
    }
    let get = |n: &str| pictures.iter().find(|(name, _)| *name == n).map(|(_, p)| p);
    let wanted: &[&str] = match (case.firmware, case.outcome) {
        (Firmware::Uefi, Outcome::Boots) if case.fixture().menu => &["menu", "target"],
        (Firmware::Uefi, Outcome::Boots) => &["target"],
        _ => &[],
    };
    for name in wanted {
        if get(name).is_none() {
            return Err(format!("no {name}.png was taken"));
        }
    }
    if let (Some(menu), Some(target)) = (get("menu"), get("target")) {
        let changed = screen::difference(menu, target);
        if changed < screen::INK_PIXELS {
            return Err(format!(
                "target.png is the menu's picture ({changed} pixels differ): \
                 the target did not draw on the screen"
            ));
        }
    }
    Ok(())
}

fn read_png(path: &Utf8PathBuf) -> Result<screen::Picture, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {path}: {e}"))?;
    let mut r = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .map_err(|e| format!("{path}: {e}"))?;
    let mut buf = vec![0; r.output_buffer_size().ok_or("too large")?];
    let info = r.next_frame(&mut buf).map_err(|e| format!("{path}: {e}"))?;
    if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
        return Err(format!("{path}: not an 8-bit RGB PNG"));
    }
    buf.truncate(info.buffer_size());
    Ok(screen::Picture {
        width: info.width,
        height: info.height,
        rgb: buf,
    })
}

/// The last command line the target printed.
fn printed_cmdline(lines: &[Line]) -> Option<String> {
    lines
        .iter()
        .rev()
        .find_map(|l| serial::target_cmdline(&l.text))
        .map(str::to_owned)
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
            keyboard: case.keyboard,
            accel,
            disk: artifact::adapted_path(ws, &case.fixture()),
            pflash,
            qmp: monitor::socket_path(&dir, case.name),
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
        let _ = std::fs::remove_file(&machine.qmp);
        let mut scripts = camera(case);
        scripts.push(Script::new(case.script));
        let played = qemu::run(&args, &log, Some(&machine.qmp), timeout, |line, guest| {
            for s in &mut scripts {
                s.feed(line, guest);
            }
            expect.watch(line)
        });
        let _ = std::fs::remove_file(&machine.qmp);
        let (run, controls) = played.with_context(|| format!("e2e case {}", case.name))?;
        let host_io_stall = stall_before
            .zip(host_io_stall_total())
            .map(|(before, after)| after.saturating_sub(before));
        let timed = dir.join("serial.timed.log");
        fsutil::write_atomic(&timed, serial::format_timed(&run.lines).as_bytes())?;
        let mut verdict = verdict::verdict(&run.lines, &expect);
        if verdict.is_ok() {
            // What a person did, or failed to do (a script stuck waiting
            // leaves its own trace in the verdict: the wrong entry booted).
            let what = scripts.iter().find_map(|s| s.error.clone());
            if let Some(e) = what {
                verdict = Err(format!("a scripted action failed: {e}"));
            } else if let Err(e) = check_shots(case, &controls.shots) {
                verdict = Err(format!("screenshots: {e}"));
            }
        }
        if let (Err(why), Some(waiting)) = (
            &mut verdict,
            scripts
                .last()
                .and_then(|s| (!s.finished()).then(|| s.waiting_for()).flatten()),
        ) {
            why.push_str(&format!(
                " (the case's script was still waiting for `{waiting}`)"
            ));
        }
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
                for (_, path) in &controls.shots {
                    let what = read_png(path)
                        .map(|p| screen::describe(&p))
                        .unwrap_or_default();
                    println!("  screen: {path} ({what})");
                }
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
                for (_, path) in &controls.shots {
                    eprintln!("  screen: {path}");
                }
            }
        }
        results.push(CaseResult {
            case: *case,
            verdict,
            log,
            host_io_stall,
            cmdline: printed_cmdline(&run.lines),
            shots: controls.shots,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(ink: u32) -> screen::Picture {
        let (w, h) = (64u32, 48u32);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        for px in rgb.chunks_exact_mut(3).take(ink as usize) {
            px.copy_from_slice(&[200, 200, 200]);
        }
        screen::Picture {
            width: w,
            height: h,
            rgb,
        }
    }

    #[test]
    fn screenshots_must_show_something_and_the_target_its_own_screen() {
        let dir = tempfile::tempdir().unwrap();
        let save = |name: &str, ink| {
            let path = Utf8PathBuf::from_path_buf(dir.path().join(format!("{name}.png"))).unwrap();
            std::fs::write(&path, screen::to_png(&picture(ink)).unwrap()).unwrap();
            (name.to_owned(), path)
        };
        let menu_case = *super::super::CASES
            .iter()
            .find(|c| c.name == "menu-uefi-timeout")
            .unwrap();
        let iso_case = *super::super::CASES
            .iter()
            .find(|c| c.name == "iso-uefi-ahci")
            .unwrap();
        let (menu, target, other) = (save("menu", 500), save("target", 900), save("same", 500));
        check_shots(&menu_case, &[menu.clone(), target.clone()]).unwrap();
        check_shots(&iso_case, std::slice::from_ref(&target)).unwrap();
        let e = check_shots(&menu_case, std::slice::from_ref(&target)).unwrap_err();
        assert_eq!(e, "no menu.png was taken");
        let e = check_shots(&iso_case, &[]).unwrap_err();
        assert_eq!(e, "no target.png was taken");
        let e = check_shots(&menu_case, &[menu.clone(), ("target".into(), other.1)]).unwrap_err();
        assert!(
            e.contains("target.png is the menu's picture (0 pixels differ)"),
            "{e}"
        );
        let blank = save("blank", 10);
        let e = check_shots(&iso_case, &[("target".into(), blank.1)]).unwrap_err();
        assert!(
            e.starts_with("target.png: the screen is blank but for 10 pixels"),
            "{e}"
        );
        // SeaBIOS boots take no pictures and need none.
        let bios = *super::super::CASES
            .iter()
            .find(|c| c.name == "menu-bios-ahci")
            .unwrap();
        check_shots(&bios, &[]).unwrap();
        assert!(camera(&bios).is_empty());
        assert_eq!(camera(&menu_case).len(), 2);
    }

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
