//! Running a plan: each [`Step`] behind its stamp, commands in a clean fixed
//! environment with their output in `build/logs/<component>.<stage>.log`,
//! and one line per step saying whether it ran and how long it took (and,
//! while a long one runs, a live line: `progress`).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

use super::progress::Live;
use super::{describe, Action, Step};
use crate::stamp::{KeyBuilder, Stamp};
use crate::ws::Ws;

/// The clean environment every command starts from: fixed locale, time
/// zone, umask-independent tools, and the reproducibility variables. Nothing
/// else of the caller's environment leaks in.
pub fn base_env(ws: &Ws) -> Result<BTreeMap<String, String>> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    let mut env = BTreeMap::new();
    env.insert("PATH".into(), path);
    env.insert("LC_ALL".into(), "C".into());
    env.insert("TZ".into(), "UTC".into());
    env.insert("HOME".into(), ws.build.join("home").into_string());
    env.insert(
        "SOURCE_DATE_EPOCH".into(),
        ws.source_date_epoch()?.to_string(),
    );
    Ok(env)
}

/// `build/logs/<step id>.seconds`: how long the step took when it last ran.
pub const SECONDS_SUFFIX: &str = ".seconds";

/// How long step `id` took when it last ran in `build`, if it is recorded.
pub fn last_run_seconds(build: &Utf8Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(build.join("logs").join(format!("{id}{SECONDS_SUFFIX}")));
    text.ok()?.trim().parse().ok()
}

/// What [`execute`] did, per step ([`summary`] says it in one line).
pub struct Outcome {
    pub id: String,
    pub ran: bool,
    pub seconds: f64,
}

/// Run the steps in order, skipping those whose stamp is fresh.
pub fn execute(ws: &Ws, steps: &[Step]) -> Result<Vec<Outcome>> {
    if ws.dry_run {
        print!("{}", describe(steps));
        return Ok(Vec::new());
    }
    let stamps = ws.build.join("stamps");
    let logs = ws.build.join("logs");
    std::fs::create_dir_all(&stamps).with_context(|| format!("cannot create {stamps}"))?;
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {logs}"))?;
    let home = ws.build.join("home");
    std::fs::create_dir_all(&home).with_context(|| format!("cannot create {home}"))?;
    let env = base_env(ws)?;
    // Latest key per component: the chain of its steps so far.
    let mut last_key: BTreeMap<String, String> = BTreeMap::new();
    let mut outcomes = Vec::new();
    for step in steps {
        let id = step.id();
        let mut k = KeyBuilder::default();
        k.value("step", &id);
        if let Some(prev) = last_key.get(&step.component) {
            k.value("previous", prev);
        }
        for d in &step.deps {
            let dk = last_key.get(d).with_context(|| {
                format!("{id}: depends on `{d}`, which is not earlier in the plan")
            })?;
            k.value("dep", dk);
        }
        for i in &step.inputs {
            k.input(i)
                .with_context(|| format!("{id}: hashing input {i}"))?;
        }
        for a in &step.actions {
            k.value("action", &a.to_string());
        }
        let key = k.finish();
        let stamp = Stamp::new(&stamps, &id);
        let started = Instant::now();
        let fresh = stamp.is_fresh(&key) && step.outputs.iter().all(|o| o.exists());
        if !fresh {
            stamp.clear()?;
            let log = logs.join(format!("{id}.log"));
            let _ = std::fs::remove_file(&log);
            let live = Live::start(label(step), log.clone());
            let mut result = Ok(());
            for action in &step.actions {
                result = run_action(ws, action, &env, &log);
                if result.is_err() {
                    break;
                }
            }
            // The live line goes before anything else is printed.
            live.finish();
            let what = || format!("{}: {}", step.component, step.stage);
            match result {
                Ok(()) => {}
                Err(Failure::Command(msg)) => {
                    print_tail(&log);
                    return Err(anyhow::anyhow!(msg).context(what()));
                }
                Err(Failure::Other(e)) => return Err(e.context(what())),
            }
            for o in &step.outputs {
                if !o.exists() {
                    bail!("{id}: finished but did not produce {o}");
                }
            }
            stamp.commit(&key)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        if !fresh {
            // How long the step took when it last ran (`cargo xtask bench
            // --profile` adds them up: the build time from nothing).
            let took = logs.join(format!("{id}{SECONDS_SUFFIX}"));
            crate::fsutil::write_atomic(&took, format!("{seconds:.1}\n").as_bytes())?;
        }
        // Only what ran: a no-op says so in one line (`summary`).
        if !fresh {
            println!("{} {seconds:7.1} s", label(step));
        }
        last_key.insert(step.component.clone(), key);
        outcomes.push(Outcome {
            id,
            ran: !fresh,
            seconds,
        });
    }
    Ok(outcomes)
}

/// A step's name in the columns of its summary line.
fn label(step: &Step) -> String {
    format!("  {:<22} {:<10}", step.component, step.stage)
}

/// One line saying what [`execute`] did: which steps ran, and the time.
pub fn summary(outcomes: &[Outcome]) -> String {
    let ran: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.ran)
        .map(|o| o.id.as_str())
        .collect();
    let seconds: f64 = outcomes.iter().map(|o| o.seconds).sum();
    if ran.is_empty() {
        format!(
            "nothing to do: {} steps up to date ({seconds:.1} s)",
            outcomes.len()
        )
    } else if ran.len() == outcomes.len() {
        // Each step had its own line already.
        format!("ran all {} steps in {seconds:.1} s", ran.len())
    } else {
        format!(
            "ran {} of {} steps in {seconds:.1} s: {}",
            ran.len(),
            outcomes.len(),
            ran.join(", ")
        )
    }
}

/// Why an action failed: a command that exited non-zero (its log's tail
/// is worth showing), or anything else.
enum Failure {
    Command(String),
    Other(anyhow::Error),
}

fn run_action(
    ws: &Ws,
    action: &Action,
    env: &BTreeMap<String, String>,
    log: &Utf8Path,
) -> Result<(), Failure> {
    match action {
        Action::Native(n) => (n.run)(ws)
            .with_context(|| n.what.clone())
            .map_err(Failure::Other),
        Action::Run(c) => {
            let status = run_command(c, env, log).map_err(Failure::Other)?;
            if !status.success() {
                return Err(Failure::Command(format!(
                    "`{}` failed ({status}); full log: {log}",
                    c.program
                )));
            }
            Ok(())
        }
    }
}

fn run_command(
    c: &super::Command,
    env: &BTreeMap<String, String>,
    log: &Utf8Path,
) -> Result<std::process::ExitStatus> {
    use std::io::Write;
    let mut full = env.clone();
    full.extend(c.env.clone());
    let mut logf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {log}"))?;
    writeln!(logf, "$ {c}")?;
    let result = duct::cmd(&c.program, &c.args)
        .dir(&c.cwd)
        .full_env(&full)
        .stdin_null()
        .stderr_to_stdout()
        .stdout_file(logf)
        .unchecked()
        .run()
        .with_context(|| format!("cannot start {}", c.program))?;
    Ok(result.status)
}

/// The last 25 lines of a failed command's log.
fn print_tail(log: &Utf8Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(25).collect();
    for line in tail.iter().rev() {
        eprintln!("    | {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_the_steps_that_ran() {
        let o = |id: &str, ran: bool, seconds: f64| Outcome {
            id: id.to_owned(),
            ran,
            seconds,
        };
        assert_eq!(
            summary(&[o("a.build", false, 0.01), o("b.link", false, 0.02)]),
            "nothing to do: 2 steps up to date (0.0 s)"
        );
        assert_eq!(
            summary(&[
                o("a.build", false, 0.0),
                o("b.link", true, 12.25),
                o("c.install", true, 1.0)
            ]),
            "ran 2 of 3 steps in 13.2 s: b.link, c.install"
        );
        assert_eq!(
            summary(&[o("a.build", true, 2.0), o("b.link", true, 1.0)]),
            "ran all 2 steps in 3.0 s"
        );
    }
}
