//! The QEMU machine protocol (QMP) on a unix socket: how the runner takes a
//! screenshot (`screendump`) and presses keys on the guest's PS/2 keyboard
//! (`send-key`) while the guest runs. One command at a time, each answered
//! before the next is sent (asynchronous events in between are skipped), so
//! a screenshot's file is complete when [`Qmp::screendump`] returns.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde_json::{json, Value};

/// unix(7): `sun_path` holds 108 bytes, the terminating NUL included.
const SUN_PATH_MAX: usize = 107;

/// Where a run's QMP socket goes: `dir/qmp.sock`, or in the temporary
/// directory when that path is too long for a unix socket.
pub fn socket_path(dir: &Utf8Path, case: &str) -> Utf8PathBuf {
    let path = dir.join("qmp.sock");
    if path.as_str().len() <= SUN_PATH_MAX {
        return path;
    }
    let tmp = Utf8PathBuf::from_path_buf(std::env::temp_dir()).unwrap_or_else(|_| "/tmp".into());
    tmp.join(format!("gen-kexec-e2e-{}-{case}.sock", std::process::id()))
}

/// QEMU's option for it: a server QEMU creates before the machine starts
/// and that does not wait for the runner.
pub fn qemu_option(socket: &Utf8Path) -> String {
    format!("unix:{socket},server=on,wait=off")
}

/// The QMP `send-key` arguments of one key as QEMU's `sendkey` names it:
/// a key code name (`ret`, `down`, `e`, `2`, `spc`, `backspace`, `esc`),
/// or keys held together joined by `-` (`shift-a`, `ctrl-alt-delete`).
pub fn key_arguments(key: &str) -> Result<Value, String> {
    let names: Vec<&str> = key.split('-').collect();
    if names
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(format!(
            "`{key}` is not a QEMU key name (e.g. ret, down, e, 2, shift-a)"
        ));
    }
    let keys: Vec<Value> = names
        .iter()
        .map(|n| json!({"type": "qcode", "data": n}))
        .collect();
    Ok(json!({ "keys": keys }))
}

/// The answer to the command just sent, from one line QEMU wrote: Some
/// when the line is that answer (`return` or `error`), None for an event.
pub fn answer(line: &str) -> Result<Option<Result<Value, String>>, String> {
    let v: Value = serde_json::from_str(line)
        .map_err(|e| format!("QMP sent something not JSON ({e}): {line}"))?;
    if let Some(r) = v.get("return") {
        return Ok(Some(Ok(r.clone())));
    }
    if let Some(e) = v.get("error") {
        let class = e.get("class").and_then(Value::as_str).unwrap_or("?");
        let desc = e.get("desc").and_then(Value::as_str).unwrap_or("");
        return Ok(Some(Err(format!("{class}: {desc}"))));
    }
    Ok(None)
}

pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connect (QEMU may not have created the socket yet: retried until
    /// `patience` has passed), read the greeting, leave negotiation mode.
    pub fn connect(socket: &Utf8Path, patience: Duration) -> Result<Qmp> {
        let started = Instant::now();
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(s) => break s,
                Err(e) if started.elapsed() < patience => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot connect to QEMU's QMP socket {socket}"))
                }
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let writer = stream.try_clone()?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = qmp.read_line()?;
        if !greeting.contains("\"QMP\"") {
            bail!("QEMU's QMP socket {socket} greeted with: {greeting}");
        }
        qmp.execute("qmp_capabilities", json!({}))?;
        Ok(qmp)
    }

    fn read_line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self
            .reader
            .read_line(&mut line)
            .context("reading QEMU's QMP socket")?
            == 0
        {
            bail!("QEMU closed its QMP socket (it exited)");
        }
        Ok(line)
    }

    /// Send one command and wait for its answer.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value> {
        let mut msg = json!({ "execute": command, "arguments": arguments }).to_string();
        msg.push('\n');
        self.writer
            .write_all(msg.as_bytes())
            .with_context(|| format!("QMP {command}: QEMU is gone"))?;
        loop {
            let line = self.read_line()?;
            match answer(line.trim()).map_err(anyhow::Error::msg)? {
                Some(Ok(v)) => return Ok(v),
                Some(Err(e)) => bail!("QMP {command}: {e}"),
                None => continue,
            }
        }
    }

    /// The guest's screen as a PPM file at `path` (written when this returns).
    pub fn screendump(&mut self, path: &Utf8Path) -> Result<()> {
        self.execute("screendump", json!({ "filename": path.as_str() }))?;
        Ok(())
    }

    /// Press and release one key (see [`key_arguments`]).
    pub fn send_key(&mut self, key: &str) -> Result<()> {
        let args = key_arguments(key).map_err(anyhow::Error::msg)?;
        self.execute("send-key", args)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_qcodes_and_combinations_are_held_together() {
        assert_eq!(
            key_arguments("down").unwrap(),
            json!({"keys": [{"type": "qcode", "data": "down"}]})
        );
        assert_eq!(
            key_arguments("shift-a").unwrap(),
            json!({"keys": [{"type": "qcode", "data": "shift"}, {"type": "qcode", "data": "a"}]})
        );
        for bad in ["", "shift-", "a b", "\r"] {
            assert!(key_arguments(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn answers_are_told_from_events() {
        assert_eq!(answer(r#"{"return": {}}"#).unwrap(), Some(Ok(json!({}))));
        assert_eq!(
            answer(r#"{"error": {"class": "GenericError", "desc": "no such key"}}"#).unwrap(),
            Some(Err("GenericError: no such key".into()))
        );
        assert_eq!(
            answer(r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET"}"#)
                .unwrap(),
            None
        );
        assert!(answer("(qemu) ").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn socket_paths_fit_a_sockaddr_un() {
        let short = socket_path(Utf8Path::new("/b/e2e/runs/x"), "x");
        assert_eq!(short, "/b/e2e/runs/x/qmp.sock");
        let deep = "/d".repeat(60);
        let long = socket_path(Utf8Path::new(&deep), "menu-uefi-arrows");
        assert!(long.as_str().len() <= SUN_PATH_MAX, "{long}");
        assert!(long.as_str().ends_with("-menu-uefi-arrows.sock"), "{long}");
        assert_eq!(
            qemu_option(Utf8Path::new("/r/qmp.sock")),
            "unix:/r/qmp.sock,server=on,wait=off"
        );
    }
}
