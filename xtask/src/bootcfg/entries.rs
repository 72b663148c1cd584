//! What a command runs (entries.sh): a label, or a kernel file and its
//! arguments; the COM32 modules that only pick what runs next (ifcpu64,
//! ifcpu, whichsys) followed; why anything else cannot be booted.

use super::syslinux::{Config, Kind, Record};
use super::{first_word, words, Cpu};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Linux,
    Config,
    None,
}

/// gk_resolve's GK_A_*.
#[derive(Clone, Debug)]
pub struct Action {
    pub kind: ActionKind,
    /// As written (relative to the working directory, or absolute).
    pub kernel: String,
    pub args: String,
    pub label: String,
    /// Kind None: why.
    pub why: String,
    /// The selectors followed.
    pub via: Vec<String>,
}

/// The machine a selector module asks about.
pub struct Machine<'a> {
    /// The filesystem the config was read from (iso9660, vfat, ext4, ...).
    pub fstype: &'a str,
    pub cpu: &'a Cpu,
}

#[derive(PartialEq, Eq)]
pub enum Module {
    Linux,
    Selector,
    Menu,
    /// Not bootable here, with the reason.
    None(String),
}

/// gk_module_why: what the program NAME (a basename) is.
pub fn module(name: &str) -> Module {
    let n = name.to_ascii_lowercase();
    let why = |s: String| Module::None(s);
    match n.as_str() {
        "ifcpu64.c32" | "ifcpu.c32" | "whichsys.c32" => Module::Selector,
        "menu.c32" | "vesamenu.c32" => Module::Menu,
        "chain.c32" => {
            why("chain.c32 starts another disk's or partition's boot sector (needs a BIOS)".into())
        }
        "mboot.c32" => {
            why("mboot.c32 starts a multiboot kernel (Xen, ...), which gen-kexec does not".into())
        }
        "reboot.c32" => why("reboot.c32 reboots".into()),
        "poweroff.c32" => why("poweroff.c32 powers off".into()),
        _ if n.ends_with(".c32") => why(format!(
            "{name} is a syslinux COM32 module (runs only under syslinux)"
        )),
        _ if n.ends_with(".com") || n.ends_with(".cbt") => {
            why(format!("{name} is a COMBOOT program (needs a BIOS)"))
        }
        _ if n.ends_with(".bss") || n.ends_with(".bs") => {
            why(format!("{name} is a boot sector (needs a BIOS)"))
        }
        _ if n.ends_with(".0") => why(format!("{name} is a PXE program (needs a BIOS)")),
        _ if n.ends_with(".img") => why(format!("{name} is a floppy image (needs a BIOS)")),
        "memdisk" => why("memdisk emulates a disk through the BIOS".into()),
        _ if n.starts_with("memtest") || n.ends_with(".bin") => why(format!(
            "{name} is a BIOS program (memtest or similar), not a Linux kernel"
        )),
        _ => Module::Linux,
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `${s%% -- *}` and `${s#* -- }`.
fn before(s: &str) -> &str {
    s.split_once(" -- ").map_or(s, |(a, _)| a)
}
fn after(s: &str) -> &str {
    s.split_once(" -- ").map_or(s, |(_, b)| b)
}

/// gk_select_module: the command a selector runs here and why, or None.
fn select(name: &str, args: &str, m: &Machine) -> (Option<String>, String) {
    let n = name.to_ascii_lowercase();
    let (out, why) = if n == "ifcpu64.c32" {
        (
            before(args).to_owned(),
            "ifcpu64.c32: the CPU is 64-bit".to_owned(),
        )
    } else if n == "ifcpu.c32" {
        let feats = before(args);
        let cond = words(feats)
            .split(' ')
            .filter(|w| !w.is_empty() && *w != "dry-run" && *w != "debug")
            .all(|w| m.cpu.has(w));
        let part = after(args);
        if cond {
            (
                before(part).to_owned(),
                format!("ifcpu.c32: the CPU has {feats}"),
            )
        } else {
            let o = after(part);
            let o = if o == part { "" } else { o };
            (
                o.to_owned(),
                format!("ifcpu.c32: the CPU lacks some of {feats}"),
            )
        }
    } else {
        let want = if m.fstype.starts_with("iso9660") {
            "-iso-"
        } else if m.fstype.starts_with("vfat") || m.fstype.starts_with("msdos") {
            "-sys-"
        } else if m.fstype.starts_with("ext") {
            "-ext-"
        } else {
            ""
        };
        let mut tag = "";
        let mut part = Vec::new();
        for w in args.split([' ', '\t', '\n']).filter(|w| !w.is_empty()) {
            match w {
                "-iso-" | "-sys-" | "-ext-" | "-pxe-" => tag = w,
                _ if tag == want => part.push(w),
                _ => {}
            }
        }
        let fs = if m.fstype.is_empty() {
            "unknown"
        } else {
            m.fstype
        };
        let w = if want.is_empty() { "no loader" } else { want };
        (
            part.join(" "),
            format!("whichsys.c32: {w} for a {fs} filesystem"),
        )
    };
    let out = out.trim_matches([' ', '\t', '\r']).to_owned();
    ((!out.is_empty()).then_some(out), why)
}

/// gk_find_label: the record of label NAME (exact; entries, hidden ones and
/// navigation entries).
pub fn find_label<'c>(c: &'c Config, name: &str) -> Option<&'c Record> {
    c.records
        .iter()
        .find(|r| matches!(r.kind, Kind::Entry | Kind::Hidden | Kind::Nav) && r.label == name)
}

/// gk_resolve: what syslinux runs for COMMAND.
pub fn resolve(c: &Config, cmd: &str, m: &Machine) -> Action {
    let (first, extra) = first_word(cmd);
    match find_label(c, first) {
        Some(r) => resolve_record(c, r, extra, m),
        None => {
            let mut a = words(if extra.is_empty() {
                &c.global_append
            } else {
                extra
            });
            if a == "-" {
                a.clear();
            }
            resolve_fields(c, first, "kernel", first, "", "", &a, m)
        }
    }
}

pub fn resolve_record(c: &Config, r: &Record, extra: &str, m: &Machine) -> Action {
    resolve_fields(
        c, &r.label, &r.ktype, &r.kernel, &r.append, &r.initrd, extra, m,
    )
}

/// KERNEL's inline words, APPEND, ` initrd=` of INITRD, the extra words.
fn arguments(kernel: &str, append: &str, initrd: &str, extra: &str) -> String {
    let mut s = first_word(kernel).1.to_owned();
    s.push(' ');
    s.push_str(append);
    if !initrd.is_empty() {
        s.push_str(" initrd=");
        s.push_str(initrd);
    }
    s.push(' ');
    s.push_str(extra);
    s
}

/// gk_resolve_fields.
#[allow(clippy::too_many_arguments)]
pub fn resolve_fields(
    c: &Config,
    label: &str,
    ktype: &str,
    kernel: &str,
    append: &str,
    initrd: &str,
    extra: &str,
    m: &Machine,
) -> Action {
    let mut a = Action {
        kind: ActionKind::None,
        kernel: String::new(),
        args: String::new(),
        label: label.into(),
        why: String::new(),
        via: Vec::new(),
    };
    let mut ktype = ktype.to_owned();
    let mut kernel = kernel.to_owned();
    let mut args = arguments(&kernel, append, initrd, extra);
    let mut hops = 0;
    loop {
        a.args = words(&args);
        a.kernel = first_word(&kernel).0.to_owned();
        a.kind = ActionKind::None;
        let k = a.kernel.clone();
        let base = basename(&k);
        let fixed = match ktype.as_str() {
            "linux" => Some(ActionKind::Linux),
            "config" => Some(ActionKind::Config),
            "localboot" => {
                a.why = "LOCALBOOT starts the BIOS's next boot device (needs a BIOS)".into();
                Some(ActionKind::None)
            }
            "boot" | "bss" => {
                a.why = format!("{k} is a boot sector (needs a BIOS)");
                Some(ActionKind::None)
            }
            "pxe" => {
                a.why = format!("{k} is a PXE program (needs a BIOS)");
                Some(ActionKind::None)
            }
            "fdimage" => {
                a.why = format!("{k} is a floppy image (needs a BIOS)");
                Some(ActionKind::None)
            }
            "comboot" => {
                a.why = format!("{k} is a COMBOOT program (needs a BIOS)");
                Some(ActionKind::None)
            }
            _ => None,
        };
        if let Some(kind) = fixed {
            a.kind = kind;
            return a;
        }
        match module(base) {
            Module::Linux => {
                a.kind = ActionKind::Linux;
                return a;
            }
            Module::None(why) => {
                a.why = why;
                return a;
            }
            Module::Menu => {
                if a.args.is_empty() {
                    a.why = format!("{base} shows this config's menu (gen-kexec shows it instead)");
                } else {
                    a.kind = ActionKind::Config;
                    a.kernel = first_word(&a.args).0.to_owned();
                    a.args.clear();
                }
                return a;
            }
            Module::Selector => {}
        }
        hops += 1;
        if hops > 8 {
            a.why = "more than 8 selector modules in a row (a loop?)".into();
            return a;
        }
        let (cmd, why) = select(base, &a.args, m);
        let Some(cmd) = cmd else {
            a.why = format!("{why}: it names nothing to run");
            return a;
        };
        a.via.push(why);
        let (first, extra) = first_word(&cmd);
        match find_label(c, first) {
            Some(r) => {
                a.label = r.label.clone();
                ktype = r.ktype.clone();
                kernel = r.kernel.clone();
                args = arguments(&kernel, &r.append, &r.initrd, extra);
            }
            None => {
                a.label = first.into();
                ktype = "kernel".into();
                kernel = first.into();
                args = extra.into();
            }
        }
    }
}
