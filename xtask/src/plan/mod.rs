//! Plans as data, then execution.
//!
//! A recipe is a pure function from (lock entry, target, paths) to a list of
//! [`Step`]s; `--dry-run` prints them, unit tests inspect them, and
//! [`execute`] runs them behind stamps. Every step's key hashes its own
//! inputs, the key of the previous step of the same component, and the final
//! keys of the components it depends on, so a change anywhere upstream
//! reruns exactly what follows from it.
//!
//! This module holds the plan's data ([`Step`], [`Command`], [`describe`]);
//! its `run` submodule executes it ([`execute`]).

mod progress;
mod run;

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};

use crate::stamp::Input;
use crate::ws::Ws;

pub use run::{execute, last_run_seconds, summary};

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
    /// Added to the clean, fixed base environment (see [`base_env`](run::base_env)).
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

/// The body of a [`Native`] job.
pub type NativeFn = Box<dyn Fn(&Ws) -> Result<()>>;

/// An in-process job (extraction, kconfig merge, cpio writing, ...).
pub struct Native {
    pub what: String,
    pub run: NativeFn,
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
    fn shell_quote_quotes_what_needs_it() {
        assert_eq!(shell_quote("plain-arg"), "plain-arg");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
