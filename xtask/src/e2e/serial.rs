//! Reading a boot from its serial output: clean lines and recognise the
//! events that matter (kernel banners, `gen-kexec:` lines, the target's
//! marker); `verdict.rs` decides what their order proves.
//!
//! The bootloader's `/init` and `kexec.sourceme` log through the kernel
//! (/dev/kmsg), so their lines reach the serial port as kernel messages:
//! `[    1.234567] gen-kexec: found /dev/sda2`. That timestamp is the guest's
//! own clock, which times gen-kexec's steps without the host's jitter; the
//! host's arrival times cover what spans two kernels (the guest clock
//! restarts with each kernel, so it cannot time a kexec).
//!
//! Everything here is pure: the QEMU runner feeds lines with the time they
//! arrived on the host, and the unit tests feed recorded logs.

use std::time::Duration;

/// What the bootloader's `/init` and `kexec.sourceme` print (their contract
/// with this test; see `initramfs-skel/init` and `scripts/kexec.sourceme`).
pub const GEN_KEXEC: &str = "gen-kexec:";
pub const INIT_STARTED: &str = "gen-kexec: init started";
pub const ESP_FOUND: &str = "gen-kexec: found ";
pub const EXEC: &str = "gen-kexec: exec:";
/// Around `kexec -l`: reading the target's kernel and initrd, and the
/// kexec_load syscall.
pub const LOAD_START: &str = "gen-kexec: kexec load: kexec ";
pub const LOAD_DONE: &str = "gen-kexec: kexec load: ok";
pub const RESCUE: &str = "gen-kexec: starting a rescue shell";
pub const ERROR: &str = "gen-kexec: error:";
/// The boot menu (issue 13): on the screen and counting down (or waiting
/// for a choice), a choice made (`... chosen by WHO`), the command line
/// editor opened, and the edited line.
pub const MENU_SHOWN: &str = "gen-kexec: menu: shown";
pub const MENU_CHOSEN: &str = " chosen by ";
pub const MENU_ENTRY: &str = "gen-kexec: menu: entry ";
pub const MENU_EDITING: &str = "gen-kexec: menu: editing the command line of entry";
pub const MENU_EDITED: &str = "gen-kexec: menu: edited command line:";
/// What the fixtures' marker `/init` prints (see `initrd::marker_init`).
pub const TARGET: &str = "E2E-TARGET:";
pub const PANIC: &str = "Kernel panic - not syncing";

/// One line of serial output, without escape sequences or `\r`, and when
/// the host saw it (from QEMU's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: Duration,
    pub text: String,
}

/// Remove terminal escape sequences (OVMF and vesamenu draw with them) and
/// other control characters except tabs.
pub fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                // Character set selection and the like: one more byte.
                Some('(' | ')' | '#' | '%') => {
                    chars.next();
                }
                _ => {}
            },
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The version in a `Linux version X (...)` banner.
pub fn kernel_banner(text: &str) -> Option<&str> {
    let rest = &text[text.find("Linux version ")? + "Linux version ".len()..];
    rest.split_whitespace().next()
}

/// The printk timestamp a kernel message starts with (`[    1.234567] ...`,
/// CONFIG_PRINTK_TIME): time since that kernel started.
pub fn kernel_time(text: &str) -> Option<Duration> {
    let rest = text.trim_start().strip_prefix('[')?;
    let (secs, _) = rest.split_once(']')?;
    let (whole, micros) = secs.trim().split_once('.')?;
    if micros.len() != 6 {
        return None;
    }
    Some(Duration::from_secs(whole.parse().ok()?) + Duration::from_micros(micros.parse().ok()?))
}

/// The `gen-kexec:` message in a line, even when a kernel message was
/// printed on the same line before it.
pub fn gen_kexec(text: &str) -> Option<&str> {
    text.find(GEN_KEXEC).map(|i| &text[i..])
}

/// The text after `E2E-TARGET:` in a marker line.
pub fn target_says(text: &str) -> Option<&str> {
    text.find(TARGET).map(|i| text[i + TARGET.len()..].trim())
}

/// Does the line announce a choice at the menu (`menu: entry K (label L)
/// chosen by WHO`, or the edited command line that follows one)?
pub fn menu_choice(text: &str) -> bool {
    gen_kexec(text).is_some_and(|g| {
        (g.starts_with(MENU_ENTRY) && g.contains(MENU_CHOSEN)) || g.starts_with(MENU_EDITED)
    })
}

/// The command line the target printed (`E2E-TARGET: cmdline=...`).
pub fn target_cmdline(text: &str) -> Option<&str> {
    target_says(text)?.strip_prefix("cmdline=")
}

/// Lines with the host time they arrived, one per line: `  12.345 | text`
/// (`serial.timed.log` next to each raw log; the unit tests' recordings).
pub fn format_timed(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| format!("{:8.3} | {}\n", l.at.as_secs_f64(), l.text))
        .collect()
}

/// The inverse of [`format_timed`]; the error names the first bad line.
#[cfg(test)]
pub fn parse_timed(text: &str) -> Result<Vec<Line>, String> {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let (t, text) = l
                .split_once(" | ")
                .ok_or_else(|| format!("line {}: no ` | `", i + 1))?;
            let secs: f64 = t
                .trim()
                .parse()
                .map_err(|_| format!("line {}: bad time `{t}`", i + 1))?;
            Ok(Line {
                at: Duration::from_secs_f64(secs),
                text: text.to_owned(),
            })
        })
        .collect()
}

/// The last `n` lines, for a failure report.
pub fn tail(lines: &[Line], n: usize) -> &[Line] {
    &lines[lines.len().saturating_sub(n)..]
}
