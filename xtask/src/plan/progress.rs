//! Live progress of a running step.
//!
//! On a terminal (stderr), a step that runs longer than [`QUIET`] shows one
//! line, redrawn a few times a second: its name, the time so far and the
//! latest line of its log (`CC drivers/usb/core/hub.o`), cut to the
//! terminal's width; it is cleared when
//! the step ends, and the usual summary line takes its place. Without a
//! terminal (CI logs) nothing is redrawn: a plain heartbeat line at most
//! every [`HEARTBEAT`], so that a long kernel build is not mistaken for a
//! hung one.

use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A step quicker than this shows nothing but its summary line.
pub const QUIET: Duration = Duration::from_secs(2);
/// Without a terminal: at most one line per this much time.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
const TICK: Duration = Duration::from_millis(200);
/// Longest log line shown (the live line must fit a terminal row).
const WIDTH: usize = 72;

/// The progress of one step; [`Live::finish`] ends it.
pub struct Live {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Live {
    /// Watch a step labelled `label` (its summary-line columns) whose
    /// output goes to `log`.
    pub fn start(label: String, log: Utf8PathBuf) -> Live {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let tty = std::io::stderr().is_terminal();
        let thread = std::thread::spawn(move || watch(&label, &log, tty, &flag));
        Live {
            stop,
            thread: Some(thread),
        }
    }

    /// Clear the live line (the caller prints the summary line next).
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.end();
    }
}

fn watch(label: &str, log: &Utf8Path, tty: bool, stop: &AtomicBool) {
    let started = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    let mut last_beat = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        let elapsed = started.elapsed();
        if elapsed < QUIET {
            continue;
        }
        let line = latest_line(log);
        if tty {
            let bar = bar.get_or_insert_with(|| {
                let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                b.set_style(ProgressStyle::with_template("{wide_msg}").expect("valid template"));
                b
            });
            bar.set_message(live_line(label, elapsed, &line));
        } else if heartbeat_due(elapsed, last_beat) {
            last_beat = elapsed;
            println!("{}", live_line(label, elapsed, &line));
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// `  linux-tiny-x86_64      build        83 s  CC drivers/usb/core/hub.o`
pub fn live_line(label: &str, elapsed: Duration, latest: &str) -> String {
    let secs = elapsed.as_secs();
    if latest.is_empty() {
        format!("{label} {secs:5} s ...")
    } else {
        format!("{label} {secs:5} s  {latest}")
    }
}

/// Whether a heartbeat is due `elapsed` into a step, the last one having
/// been at `last` (zero: none yet).
pub fn heartbeat_due(elapsed: Duration, last: Duration) -> bool {
    elapsed >= last + HEARTBEAT
}

/// The last non-empty line of `log` (its final 4 KiB), blanks squeezed
/// and cut to [`WIDTH`]; empty when there is none yet.
fn latest_line(log: &Utf8Path) -> String {
    let mut tail = Vec::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let len = f.metadata().map_or(0, |m| m.len());
        if f.seek(SeekFrom::Start(len.saturating_sub(4096))).is_ok() {
            let _ = f.take(4096).read_to_end(&mut tail);
        }
    }
    last_line(&String::from_utf8_lossy(&tail))
}

pub fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let squeezed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    match squeezed.char_indices().nth(WIDTH) {
        Some((cut, _)) => format!("{}...", &squeezed[..cut]),
        None => squeezed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_log_line_squeezed_and_cut() {
        assert_eq!(
            last_line("  CC      init/main.o\n  CC      drivers/usb/core/hub.o\n\n"),
            "CC drivers/usb/core/hub.o"
        );
        assert_eq!(last_line(""), "");
        let long = "x".repeat(200);
        assert_eq!(last_line(&long).chars().count(), WIDTH + 3);
        assert_eq!(
            live_line("  linux build", Duration::from_secs(83), "CC a.o"),
            "  linux build    83 s  CC a.o"
        );
    }

    #[test]
    fn heartbeats_come_at_most_every_30_s() {
        let s = Duration::from_secs;
        assert!(!heartbeat_due(s(29), s(0)));
        assert!(heartbeat_due(s(30), s(0)));
        assert!(!heartbeat_due(s(59), s(30)));
        assert!(heartbeat_due(s(61), s(30)));
    }
}
