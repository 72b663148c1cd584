//! What grub-emu printed, read: its terminal's escape sequences removed,
//! the wrapper's `GK-...: [value]` lines and GRUB's own (`Booting `...'`,
//! `error: ...`) gathered into a [`Run`]. Pure: the tests feed it recorded
//! output.

use super::{Attempt, Run};

/// Removes terminal escape sequences and carriage returns.
pub fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut it = raw.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\x1b' => match it.next() {
                Some('[') => {
                    for d in it.by_ref() {
                        if d.is_ascii_alphabetic() || d == '@' || d == '~' {
                            break;
                        }
                    }
                }
                Some('(') | Some(')') => {
                    it.next();
                }
                _ => {}
            },
            '\r' => {}
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// `[text]` of a `GK-NAME: [text]` line.
fn bracketed<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(name)?;
    let rest = line[at + name.len()..].strip_prefix(": [")?;
    rest.strip_suffix(']')
}

/// The parsed output (pure: the tests feed it recorded text).
pub fn parse(output: &str, ended: &str) -> Run {
    let text = clean(output);
    let mut run = Run {
        ended: ended.to_owned(),
        ..Run::default()
    };
    let mut title = String::new();
    for line in text.lines() {
        let l = line.trim_end();
        if let Some(at) = l.find("Booting `") {
            title = l[at + 9..]
                .strip_suffix('\'')
                .unwrap_or(&l[at + 9..])
                .to_owned();
        } else if let Some(v) = bracketed(l, "GK-DEFAULT") {
            run.default = v.to_owned();
        } else if let Some(v) = bracketed(l, "GK-TIMEOUT") {
            run.timeout = v.to_owned();
        } else if let Some(v) = bracketed(l, "GK-LOADER") {
            run.attempts.push(Attempt {
                title: title.clone(),
                loader: v.to_owned(),
                ..Attempt::default()
            });
        } else if let Some(a) = run.attempts.last_mut() {
            if let Some(v) = bracketed(l, "GK-CHOSEN") {
                a.chosen = v.to_owned();
            } else if let Some(v) = bracketed(l, "GK-ROOT") {
                a.root = v.to_owned();
            } else if let Some(v) = bracketed(l, "GK-ARG") {
                if a.kernel.is_empty() && a.args.is_empty() {
                    a.kernel = v.to_owned();
                } else {
                    a.args.push(v.to_owned());
                }
            } else if let Some(v) = bracketed(l, "GK-INITRD") {
                a.initrds.push(v.to_owned());
            }
        }
        if let Some(at) = l.find("error: ") {
            run.errors.push(l[at..].to_owned());
        }
        if !l.trim().is_empty() {
            run.lines.push(l.trim().to_owned());
        }
    }
    run
}
