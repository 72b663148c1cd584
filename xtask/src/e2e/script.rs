//! What a person does during a boot, as data: each step waits for a serial
//! line holding its trigger (or follows the previous step at once), then
//! types on the serial console, presses keys on the screen's keyboard, or
//! takes a screenshot. Steps run in order, each once. The runner plays
//! several scripts side by side (the case's own and the screenshots every
//! case takes), through a [`Guest`] that the unit tests replace.

use std::time::Duration;

use super::serial::Line;

/// Between two keys, as a person types (and so the guest reads each one).
pub const KEY_DELAY: Duration = Duration::from_millis(100);
/// After the line that says something is on the screen, before the
/// screenshot: the drawing may still be on its way.
pub const SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Bytes typed on the first serial port (`\r` is Enter, `\x1b[B` Down).
    SendSerial(&'static [u8]),
    /// Keys pressed on the screen's (PS/2) keyboard, by QEMU `sendkey`
    /// name (`down`, `ret`, `e`, `2`, `spc`, `shift-a`), [`KEY_DELAY`] apart.
    SendKeys(&'static [&'static str]),
    /// Wait this long before the next step.
    Pause(Duration),
    /// Save the screen as `NAME.png` in the case's directory.
    Screenshot(&'static str),
}

/// One step of a script, as cases declare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Part of the serial line that starts this step; None: right after
    /// the previous step.
    pub on: Option<&'static str>,
    pub action: Action,
}

/// `action` when a serial line holds `trigger`.
pub const fn on(trigger: &'static str, action: Action) -> Step {
    Step {
        on: Some(trigger),
        action,
    }
}

/// `action` right after the previous step.
pub const fn then(action: Action) -> Step {
    Step { on: None, action }
}

/// What a script acts on: the running machine (or a recording of calls).
pub trait Guest {
    fn send_serial(&mut self, bytes: &[u8]) -> Result<(), String>;
    fn send_key(&mut self, key: &str) -> Result<(), String>;
    fn pause(&mut self, d: Duration);
    fn screenshot(&mut self, name: &str) -> Result<(), String>;
}

/// A script being played: its steps (triggers may be built at run time,
/// e.g. a fixture's marker line) and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    steps: Vec<(Option<String>, Action)>,
    next: usize,
    /// What went wrong, by step (the script stops at the first error).
    pub error: Option<String>,
}

impl Script {
    pub fn new(steps: &[Step]) -> Script {
        Script {
            steps: steps
                .iter()
                .map(|s| (s.on.map(str::to_owned), s.action))
                .collect(),
            next: 0,
            error: None,
        }
    }

    /// A step whose trigger is only known at run time.
    pub fn on_owned(trigger: String, action: Action) -> Script {
        Script {
            steps: vec![(Some(trigger), action)],
            next: 0,
            error: None,
        }
    }

    /// Play the steps this line starts (and those that follow at once).
    pub fn feed(&mut self, line: &Line, guest: &mut dyn Guest) {
        while self.error.is_none() {
            let Some((trigger, action)) = self.steps.get(self.next) else {
                return;
            };
            if let Some(t) = trigger {
                if !line.text.contains(t.as_str()) {
                    return;
                }
            }
            let action = *action;
            if let Err(e) = play(action, guest) {
                self.error = Some(format!(
                    "step {} ({}): {e}",
                    self.next + 1,
                    describe(action)
                ));
            }
            self.next += 1;
        }
    }

    /// The trigger still awaited, when the script did not finish.
    pub fn waiting_for(&self) -> Option<&str> {
        self.steps
            .get(self.next)
            .map(|(t, _)| t.as_deref().unwrap_or("(the previous step)"))
    }

    pub fn finished(&self) -> bool {
        self.next >= self.steps.len()
    }
}

fn play(action: Action, guest: &mut dyn Guest) -> Result<(), String> {
    match action {
        Action::SendSerial(bytes) => guest.send_serial(bytes),
        Action::SendKeys(keys) => {
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    guest.pause(KEY_DELAY);
                }
                guest.send_key(key)?;
            }
            Ok(())
        }
        Action::Pause(d) => {
            guest.pause(d);
            Ok(())
        }
        Action::Screenshot(name) => guest.screenshot(name),
    }
}

/// An action in a person's words, for logs and failures.
pub fn describe(action: Action) -> String {
    match action {
        Action::SendSerial(bytes) => format!("type {:?} on serial", String::from_utf8_lossy(bytes)),
        Action::SendKeys(keys) => format!("press {} on the keyboard", keys.join(" ")),
        Action::Pause(d) => format!("wait {} ms", d.as_millis()),
        Action::Screenshot(name) => format!("screenshot {name}.png"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
        fail_keys: bool,
    }

    impl Guest for Recorder {
        fn send_serial(&mut self, bytes: &[u8]) -> Result<(), String> {
            self.calls
                .push(format!("serial {:?}", String::from_utf8_lossy(bytes)));
            Ok(())
        }
        fn send_key(&mut self, key: &str) -> Result<(), String> {
            if self.fail_keys {
                return Err("QEMU is gone".into());
            }
            self.calls.push(format!("key {key}"));
            Ok(())
        }
        fn pause(&mut self, d: Duration) {
            self.calls.push(format!("pause {}", d.as_millis()));
        }
        fn screenshot(&mut self, name: &str) -> Result<(), String> {
            self.calls.push(format!("shot {name}"));
            Ok(())
        }
    }

    fn line(text: &str) -> Line {
        Line {
            at: Duration::ZERO,
            text: text.into(),
        }
    }

    const STEPS: &[Step] = &[
        on("menu: shown", Action::SendKeys(&["down", "ret"])),
        then(Action::Screenshot("chosen")),
        on("menu: editing", Action::SendSerial(b" x=1\r")),
    ];

    #[test]
    fn steps_wait_for_their_line_in_order() {
        let mut s = Script::new(STEPS);
        let mut g = Recorder::default();
        // The later trigger first: nothing happens before the first one.
        s.feed(&line("gen-kexec: menu: editing"), &mut g);
        assert!(g.calls.is_empty());
        assert_eq!(s.waiting_for(), Some("menu: shown"));
        s.feed(&line("[ 1.0] gen-kexec: menu: shown: 5 entries"), &mut g);
        assert_eq!(g.calls, ["key down", "pause 100", "key ret", "shot chosen"]);
        assert!(!s.finished());
        // Each step once: the same line again does nothing.
        s.feed(&line("gen-kexec: menu: shown: 5 entries"), &mut g);
        assert_eq!(g.calls.len(), 4);
        s.feed(
            &line("gen-kexec: menu: editing the command line of entry 2"),
            &mut g,
        );
        assert_eq!(g.calls.last().unwrap(), "serial \" x=1\\r\"");
        assert!(s.finished() && s.error.is_none());
        assert_eq!(s.waiting_for(), None);
    }

    #[test]
    fn a_failed_step_stops_the_script_and_says_which() {
        let mut s = Script::new(STEPS);
        let mut g = Recorder {
            fail_keys: true,
            ..Recorder::default()
        };
        s.feed(&line("menu: shown"), &mut g);
        s.feed(&line("menu: editing"), &mut g);
        assert_eq!(
            s.error.as_deref(),
            Some("step 1 (press down ret on the keyboard): QEMU is gone")
        );
        assert!(g.calls.is_empty());
    }

    #[test]
    fn run_time_triggers() {
        let mut s = Script::on_owned("E2E-TARGET: marker m".into(), Action::Screenshot("target"));
        let mut g = Recorder::default();
        s.feed(&line("E2E-TARGET: cmdline=x"), &mut g);
        s.feed(&line("E2E-TARGET: marker m"), &mut g);
        assert_eq!(g.calls, ["shot target"]);
        assert_eq!(
            describe(Action::SendSerial(b"3\r")),
            "type \"3\\r\" on serial"
        );
    }
}
