//! The flattened menu a config shows, its default, how long it waits, and
//! what boots with nobody at the keyboard (model.sh, boot.sh gk_plan and
//! gk_cmdline).

use anyhow::Result;

use super::entries::{
    module, resolve, resolve_fields, resolve_record, Action, ActionKind, Machine, Module,
};
use super::syslinux::{parse, Config, Kind};
use super::{first_word, path, Cpu, ReadFile};

/// GK_MENU_MAX: entries shown.
pub const MENU_MAX: usize = 500;

/// One numbered entry of the menu.
#[derive(Clone, Debug)]
pub struct Entry {
    pub label: String,
    /// MENU LABEL without its `^`.
    pub title: String,
    pub depth: usize,
    /// Index into the config's records.
    pub record: usize,
    /// Why gen-kexec cannot boot it ("" when it can).
    pub why: String,
}

/// gk_menu_model.
#[derive(Clone, Debug)]
pub struct Menu {
    pub entries: Vec<Entry>,
    /// Entries beyond MENU_MAX, not shown.
    pub more: usize,
    /// The entry the menu starts on, numbered from 1 (0: none).
    pub default: usize,
    /// What runs on timeout when it is not entry `default`.
    pub timeout_cmd: String,
    /// Hundredths of a second the image waits (-1: forever).
    pub wait_cs: i64,
    pub wait_why: String,
    pub has_ui: bool,
}

pub fn menu(c: &Config, m: &Machine) -> Menu {
    let defword = first_word(&c.default).0;
    let (mut def, mut mdef_root, mut first) = (0, 0, 0);
    let mut menu = Menu {
        entries: Vec::new(),
        more: 0,
        default: 0,
        timeout_cmd: String::new(),
        wait_cs: 0,
        wait_why: String::new(),
        has_ui: false,
    };
    for (ri, r) in c.records.iter().enumerate() {
        if !matches!(r.kind, Kind::Entry | Kind::Disabled) {
            continue;
        }
        if menu.entries.len() >= MENU_MAX {
            menu.more += 1;
            continue;
        }
        let i = menu.entries.len() + 1;
        let why = if r.kind == Kind::Disabled {
            "disabled in the menu (MENU DISABLE)".to_owned()
        } else {
            let m0 = match r.ktype.as_str() {
                "linux" | "config" => Module::Linux,
                "kernel" | "com32" => {
                    let k = first_word(&r.kernel).0;
                    module(k.rsplit('/').next().unwrap_or(k))
                }
                _ => Module::Menu, // anything else: resolved below
            };
            match m0 {
                Module::Linux => String::new(),
                Module::None(why) => why,
                _ => {
                    let a = resolve_fields(
                        c, &r.label, &r.ktype, &r.kernel, &r.append, &r.initrd, "", m,
                    );
                    if a.kind == ActionKind::None {
                        a.why
                    } else {
                        String::new()
                    }
                }
            }
        };
        if r.kind == Kind::Entry {
            if r.label == defword && def == 0 {
                def = i;
            }
            if r.depth == 0 {
                if first == 0 {
                    first = i;
                }
                if r.menu_default {
                    mdef_root = i;
                }
            }
        }
        menu.entries.push(Entry {
            label: r.label.clone(),
            title: r.title.replace('^', ""),
            depth: r.depth,
            record: ri,
            why,
        });
    }
    let mut ui_word = first_word(&c.ui).0.to_owned();
    menu.has_ui = !ui_word.is_empty();
    if !menu.has_ui && module(defword.rsplit('/').next().unwrap_or(defword)) == Module::Menu {
        menu.has_ui = true;
        ui_word = defword.into();
    }
    menu.default = [def, mdef_root, first]
        .into_iter()
        .find(|&d| d != 0)
        .unwrap_or(0);
    let wait = |menu: &mut Menu, what: &str| {
        (menu.wait_cs, menu.wait_why) = if c.timeout > 0 {
            (
                c.timeout.saturating_mul(10) as i64,
                format!("{what}, TIMEOUT {}", c.timeout),
            )
        } else if c.totaltimeout > 0 {
            (
                c.totaltimeout.saturating_mul(10) as i64,
                format!("{what}, TOTALTIMEOUT {}", c.totaltimeout),
            )
        } else {
            (-1, format!("{what}, no TIMEOUT"))
        };
    };
    if menu.has_ui {
        menu.timeout_cmd = c.ontimeout.clone();
        wait(&mut menu, &ui_word);
    } else {
        if !c.default.is_empty() && (def == 0 || c.default != defword) {
            menu.timeout_cmd = c.default.clone();
        }
        if c.prompt == 0 {
            (menu.wait_cs, menu.wait_why) = (0, "no UI, PROMPT 0".into());
        } else {
            if !c.ontimeout.is_empty() {
                menu.timeout_cmd = c.ontimeout.clone();
            }
            wait(&mut menu, "boot: prompt");
        }
    }
    menu
}

/// gk_default_action: what boots with nobody at the keyboard (or label=),
/// and why; Err: the refusal.
pub fn default_action(
    c: &Config,
    menu: &Menu,
    conf_label: Option<&str>,
    m: &Machine,
) -> Result<(Action, String), String> {
    let (a, reason) = if let Some(l) = conf_label.filter(|l| !l.is_empty()) {
        let r = super::entries::find_label(c, l)
            .ok_or_else(|| format!("{} has no label '{l}' (asked for by label=)", c.cfg))?;
        (
            resolve_record(c, r, "", m),
            "label= in gen-kexec.conf".to_owned(),
        )
    } else if !menu.timeout_cmd.is_empty() {
        let t = &menu.timeout_cmd;
        let why = if (menu.has_ui || c.prompt != 0) && *t == c.ontimeout {
            "ONTIMEOUT"
        } else {
            "DEFAULT"
        };
        (resolve(c, t, m), format!("{why} {t}"))
    } else if menu.default != 0 {
        let e = &menu.entries[menu.default - 1];
        let r = &c.records[e.record];
        (
            resolve_record(c, r, "", m),
            format!("menu entry {} ({})", menu.default, e.title),
        )
    } else {
        return Err(format!("{} has no label to boot", c.cfg));
    };
    let reason = if a.via.is_empty() {
        reason
    } else {
        format!("{reason}; {}", a.via.join("; "))
    };
    Ok((a, reason))
}

/// What gen-kexec boots with nobody at the keyboard (gk_plan + gk_cmdline,
/// without the bootloader's console= and gen-kexec.conf's append=).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The config it was found in (after CONFIG switches).
    pub cfg: String,
    pub label: String,
    /// From the partition root.
    pub kernel: String,
    pub initrds: Vec<String>,
    /// The arguments, in syslinux's order.
    pub args: String,
    /// `BOOT_IMAGE=KERNEL ARGS` without any initrd=.
    pub cmdline: String,
    /// How long the (last) config waits, 1/100 s, -1 forever.
    pub wait_cs: i64,
    pub reason: String,
}

/// gk_plan CFG. Outer Err: a file could not be read; inner Err: gen-kexec
/// refuses (nothing it can boot by itself), with the reason.
pub fn plan(
    read: &mut ReadFile,
    cfg: &str,
    fstype: &str,
    cpu: &Cpu,
    conf_label: Option<&str>,
) -> Result<Result<Plan, String>> {
    let m = Machine { fstype, cpu };
    let mut c = parse(cfg, None, read)?;
    let mut menu = menu(&c, &m);
    let mut conf_label = conf_label;
    let mut hops = 0;
    loop {
        let (a, reason) = match default_action(&c, &menu, conf_label, &m) {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        match a.kind {
            ActionKind::Linux => return Ok(Ok(cmdline(&c, &a, menu.wait_cs, reason))),
            ActionKind::Config => {
                hops += 1;
                if hops > 8 {
                    return Ok(Err("more than 8 CONFIG switches (a loop?)".into()));
                }
                conf_label = None;
                let file = path(&c.cwd, &a.kernel);
                let dir = first_word(&a.args).0;
                let dir = if dir.is_empty() {
                    c.cwd.clone()
                } else {
                    path(&c.cwd, dir)
                };
                if read(&file)?.is_none() {
                    return Ok(Err(format!(
                        "CONFIG {file} (label {} in {}): no such file",
                        a.label, c.cfg
                    )));
                }
                c = parse(&file, Some(&dir), read)?;
                menu = self::menu(&c, &m);
            }
            ActionKind::None => {
                return Ok(Err(format!(
                    "label '{}' in {} ({reason}) is not a Linux kernel: {}",
                    a.label, c.cfg, a.why
                )))
            }
        }
    }
}

/// gk_cmdline: the kernel and initrds from the partition root, the first
/// initrd= loaded and every initrd= dropped.
fn cmdline(c: &Config, a: &Action, wait_cs: i64, reason: String) -> Plan {
    let mut first_initrd = String::new();
    let mut initrds = Vec::new();
    let mut line = format!("BOOT_IMAGE={}", a.kernel);
    for w in a.args.split([' ', '\t', '\n']).filter(|w| !w.is_empty()) {
        if let Some(list) = w.strip_prefix("initrd=") {
            if first_initrd.is_empty() {
                first_initrd = list.into();
                initrds = list
                    .split(',')
                    .filter(|i| !i.is_empty())
                    .map(|i| path(&c.cwd, i))
                    .collect();
            }
            continue;
        }
        line.push(' ');
        line.push_str(w);
    }
    Plan {
        cfg: c.cfg.clone(),
        label: a.label.clone(),
        kernel: path(&c.cwd, &a.kernel),
        initrds,
        args: a.args.clone(),
        cmdline: line,
        wait_cs,
        reason,
    }
}
