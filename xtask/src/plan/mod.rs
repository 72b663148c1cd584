//! Plans as data, then execution.
//!
//! A recipe is a pure function from (lock entry, target, paths) to a list of
//! [`Step`]s; `--dry-run` prints them, unit tests inspect them, and
//! [`execute`] runs them behind stamps. Every step's key hashes its own
//! inputs, the key of the previous step of the same component, and the final
//! keys of the components it depends on, so a change anywhere upstream
//! reruns exactly what follows from it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::stamp::{Input, KeyBuilder, Stamp};
use crate::ws::Ws;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Fetch,
    Extract,
    Configure,
    Build,
    /// Linking finished objects with late inputs (the kernel + initramfs).
    Link,
    Install,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Fetch => "fetch",
            Stage::Extract => "extract",
            Stage::Configure => "configure",
            Stage::Build => "build",
            Stage::Link => "link",
            Stage::Install => "install",
        })
    }
}

/// An external command, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: Utf8PathBuf,
    /// Added to the clean, fixed base environment (see [`base_env`]).
    pub env: BTreeMap<String, String>,
}

impl Command {
    pub fn new(program: impl Into<String>, cwd: &Utf8Path) -> Command {
        Command {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.to_owned(),
            env: BTreeMap::new(),
        }
    }
    pub fn arg(mut self, a: impl Into<String>) -> Command {
        self.args.push(a.into());
        self
    }
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, a: I) -> Command {
        self.args.extend(a.into_iter().map(Into::into));
        self
    }
    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Command {
        self.env.insert(k.into(), v.into());
        self
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(cd {} && ", self.cwd)?;
        for (k, v) in &self.env {
            write!(f, "{k}={} ", shell_quote(v))?;
        }
        write!(f, "{}", self.program)?;
        for a in &self.args {
            write!(f, " {}", shell_quote(a))?;
        }
        write!(f, ")")
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// An in-process job (extraction, kconfig merge, cpio writing, ...).
pub struct Native {
    pub what: String,
    pub run: Box<dyn Fn(&Ws) -> Result<()>>,
}

pub enum Action {
    Run(Command),
    Native(Native),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Run(c) => write!(f, "{c}"),
            Action::Native(n) => write!(f, "[xtask] {}", n.what),
        }
    }
}

pub struct Step {
    pub component: String,
    pub stage: Stage,
    pub inputs: Vec<Input>,
    /// Components whose final key this step depends on.
    pub deps: Vec<String>,
    /// Files that must exist for a fresh stamp to count.
    pub outputs: Vec<Utf8PathBuf>,
    pub actions: Vec<Action>,
}

impl Step {
    pub fn new(component: &str, stage: Stage) -> Step {
        Step {
            component: component.to_owned(),
            stage,
            inputs: Vec::new(),
            deps: Vec::new(),
            outputs: Vec::new(),
            actions: Vec::new(),
        }
    }
    pub fn input(mut self, i: Input) -> Step {
        self.inputs.push(i);
        self
    }
    pub fn value(self, k: &str, v: impl Into<String>) -> Step {
        self.input(Input::Value(k.to_owned(), v.into()))
    }
    pub fn dep(mut self, component: &str) -> Step {
        self.deps.push(component.to_owned());
        self
    }
    pub fn output(mut self, p: impl Into<Utf8PathBuf>) -> Step {
        self.outputs.push(p.into());
        self
    }
    pub fn run(mut self, c: Command) -> Step {
        self.actions.push(Action::Run(c));
        self
    }
    pub fn native(
        mut self,
        what: impl Into<String>,
        run: impl Fn(&Ws) -> Result<()> + 'static,
    ) -> Step {
        self.actions.push(Action::Native(Native {
            what: what.into(),
            run: Box::new(run),
        }));
        self
    }
    pub fn id(&self) -> String {
        format!("{}.{}", self.component, self.stage)
    }
}

/// Print a plan the way `--dry-run` shows it.
pub fn describe(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        out.push_str(&format!("{} {}\n", s.component, s.stage));
        for i in &s.inputs {
            out.push_str(&format!("    input  {i}\n"));
        }
        for d in &s.deps {
            out.push_str(&format!("    after  {d}\n"));
        }
        for a in &s.actions {
            out.push_str(&format!("    {a}\n"));
        }
        for o in &s.outputs {
            out.push_str(&format!("    output {o}\n"));
        }
    }
    out
}

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
    std::fs::create_dir_all(ws.build.join("home"))?;
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
            for action in &step.actions {
                run_action(ws, action, &env, &log)
                    .with_context(|| format!("{}: {}", step.component, step.stage))?;
            }
            for o in &step.outputs {
                if !o.exists() {
                    bail!("{id}: finished but did not produce {o}");
                }
            }
            stamp.commit(&key)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "  {:<12} {:<10} {}",
            step.component,
            step.stage,
            if fresh {
                "up to date".to_owned()
            } else {
                format!("{seconds:7.1} s")
            }
        );
        last_key.insert(step.component.clone(), key);
        outcomes.push(Outcome {
            id,
            ran: !fresh,
            seconds,
        });
    }
    Ok(outcomes)
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
    } else {
        format!(
            "ran {} of {} steps in {seconds:.1} s: {}",
            ran.len(),
            outcomes.len(),
            ran.join(", ")
        )
    }
}

fn run_action(
    ws: &Ws,
    action: &Action,
    env: &BTreeMap<String, String>,
    log: &Utf8Path,
) -> Result<()> {
    match action {
        Action::Native(n) => (n.run)(ws).with_context(|| n.what.clone()),
        Action::Run(c) => {
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
            if !result.status.success() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(25).collect();
                for line in tail.iter().rev() {
                    eprintln!("    | {line}");
                }
                bail!(
                    "`{}` failed ({}); full log: {log}",
                    c.program,
                    result.status
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_lists_inputs_actions_outputs() {
        let cwd = Utf8Path::new("/b/src");
        let steps = vec![Step::new("demo", Stage::Build)
            .value("version", "1.0")
            .run(Command::new("make", cwd).arg("-j2").env("V", "1"))
            .output("/b/out")];
        let text = describe(&steps);
        assert!(text.contains("demo build"));
        assert!(text.contains("input  version=1.0"));
        assert!(text.contains("(cd /b/src && V=1 make -j2)"));
        assert!(text.contains("output /b/out"));
    }

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
    }

    #[test]
    fn shell_quote_quotes_what_needs_it() {
        assert_eq!(shell_quote("plain-arg"), "plain-arg");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
