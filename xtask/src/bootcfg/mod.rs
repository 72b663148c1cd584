//! The host model of gen-kexec's boot-time syslinux parser
//! (initramfs-skel/lib/gen-kexec/{syslinux,entries,model,boot}.sh), which
//! follows syslinux 6 (com32/elflink/ldlinux/readconfig.c and
//! com32/menu/readconfig.c). The ash parser is tested against this one
//! (xtask/tests/bootcfg_vs_sourceme.rs). Paths are from the partition root
//! ("/isolinux/isolinux.cfg"); relative ones are relative to the working
//! directory, as syslinux resolves them. Untrusted input: no panics on any
//! bytes, work bounded by the same budgets as the ash code.

#![allow(dead_code)] // the test crate includes this module for part of it

pub mod entries;
pub mod grub;
pub mod model;
pub mod syslinux;

#[allow(unused_imports)]
pub use model::{plan, Plan};

/// Reads a file of the partition, by its path from the root: `Ok(None)`
/// when there is no such (regular) file.
pub type ReadFile<'a> = dyn FnMut(&str) -> anyhow::Result<Option<Vec<u8>>> + 'a;

/// Where isolinux, syslinux and extlinux look for their config, in order
/// (gk_find_config).
pub const CONFIG_DIRS: &[&str] = &[
    "/boot/isolinux",
    "/isolinux",
    "/boot/syslinux",
    "/syslinux",
    "/boot/extlinux",
    "/extlinux",
    "",
];
pub const CONFIG_NAMES: &[&str] = &["isolinux.cfg", "syslinux.cfg", "extlinux.conf"];

/// The syslinux config of a partition (gk_find_config), if any.
pub fn find_config(read: &mut ReadFile) -> anyhow::Result<Option<String>> {
    for dir in CONFIG_DIRS {
        for name in CONFIG_NAMES {
            let p = format!("{dir}/{name}");
            if read(&p)?.is_some() {
                return Ok(Some(p));
            }
        }
    }
    Ok(None)
}

/// What ifcpu.c32 asks of the CPU, read from /proc/cpuinfo as gk_cpu_has
/// does (the last `flags` line, the number of `processor` lines).
#[derive(Clone, Debug, Default)]
pub struct Cpu {
    flags: String,
    processors: usize,
}

impl Cpu {
    pub fn from_cpuinfo(text: &str) -> Cpu {
        let mut cpu = Cpu::default();
        for line in text.lines() {
            let (key, rest) = line.split_once(':').unwrap_or((line, ""));
            if key.starts_with("flags") {
                cpu.flags = format!(" {rest} ");
            } else if key.starts_with("processor") {
                cpu.processors += 1;
            }
        }
        cpu
    }

    /// A 64-bit CPU (what gen-kexec itself runs on), for callers without a
    /// cpuinfo.
    pub fn x86_64() -> Cpu {
        Cpu {
            flags: " fpu pae lm ".into(),
            processors: 1,
        }
    }

    pub fn has(&self, feature: &str) -> bool {
        match feature {
            "64" => self.flags.contains(" lm "),
            "486" | "586" | "686" => true,
            "smp" | "multicore" => self.processors > 1,
            f => self.flags.contains(&format!(" {f} ")),
        }
    }
}

/// Blanks as the ash code's IFS splits on.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// gk_words: blanks collapsed to single spaces, trimmed.
pub fn words(s: &str) -> String {
    s.split(is_blank)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `${s%% *}` and what follows it without one leading space.
fn first_word(s: &str) -> (&str, &str) {
    match s.split_once(' ') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    }
}

/// gk_path: PATH from the partition root, relative ones from DIR.
pub fn path(dir: &str, p: &str) -> String {
    if p.starts_with('/') {
        clean_path(p)
    } else {
        clean_path(&format!("{dir}/{p}"))
    }
}

/// gk_clean_path: without ".", ".." and repeated slashes.
pub fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            x => out.push(x),
        }
    }
    if out.is_empty() {
        "/".into()
    } else {
        out.iter().map(|p| format!("/{p}")).collect()
    }
}

/// syslinux's atoi/strtoul(..., 0) as gk_number reads it.
pub fn number(text: &str) -> u64 {
    let t: String = text
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == 'x' || *c == 'X')
        .collect();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
        // ash's arithmetic is 64-bit; saturate instead of wrapping.
        u64::from_str_radix(if digits.is_empty() { "0" } else { &digits }, 16).unwrap_or(u64::MAX)
    } else {
        let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
        let digits = digits.trim_start_matches('0');
        if digits.len() > 9 {
            999_999_999
        } else {
            digits.parse().unwrap_or(0)
        }
    }
}
