//! The host model of gen-kexec's boot-time GRUB parser
//! (initramfs-skel/lib/gen-kexec/grub.sh and grub-*.awk, which follow GRUB
//! 2's grub-core/script, grub-core/normal/menu.c and grub-core/commands,
//! and GRUB legacy's menu.lst): the same records, the same default, the
//! same command lines (xtask/tests/grub_vs_sourceme.rs checks both on the
//! corpus). Untrusted input: bounded by the same budgets as the awk code.

mod bls;
mod cmd;
mod env;
mod legacy;
pub mod lex;
mod load;
mod menu;
mod run;
mod test;

use std::collections::{HashMap, HashSet};

pub const MAXNEST: usize = 16;
pub const MAXLINE: usize = 4096;
pub const MAXBYTES: usize = 4_194_304;
pub const MAXLINES: usize = 100_000;
pub const MAXFILES: usize = 128;
pub const MAXSTEPS: usize = 2_000;
pub const MAXVAL: usize = 65_536;
pub const MAXENTRIES: usize = 1000;

/// A partition's files: `read` gives a regular file's bytes (None: no such
/// file, or a directory); `list` the names of the regular files in a
/// directory, sorted.
pub trait Files {
    fn read(&mut self, path: &str) -> Option<Vec<u8>>;
    fn list(&mut self, dir: &str) -> Vec<String>;
}

/// One line of GK_GRUB_PARTS: a partition of the disk (number None: the
/// whole disk); `files` None when it is not mounted (unsupported fs).
pub struct Part<'a> {
    pub name: String,
    pub num: Option<u32>,
    pub fstype: String,
    pub uuid: String,
    pub label: String,
    pub files: Option<Box<dyn Files + 'a>>,
}

/// A record, as grub-menu.awk prints it (the syslinux record fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub kind: char,
    pub depth: usize,
    pub label: String,
    pub title: String,
    pub kernel: String,
    pub typ: String,
    pub append: String,
    pub initrd: String,
    pub mdef: bool,
}

impl Record {
    /// The tab-separated line, "-" for empty fields (GK_RECORDS).
    pub fn line(&self) -> String {
        let f = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.replace(['\t', '\n', '\r'], " ")
            }
        };
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.kind,
            self.depth,
            f(&self.label),
            f(&self.title),
            f(&self.kernel),
            f(&self.typ),
            f(&self.append),
            f(&self.initrd),
            if self.mdef { "1" } else { "-" }
        )
    }
}

/// What a GRUB config gives: its records, GRUB's $timeout ("-" unset),
/// $timeout_style and $default once it ran, and the warnings.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    pub timeout: String,
    pub timeout_style: String,
    pub default: String,
    pub warnings: Vec<String>,
}

impl Parsed {
    /// The default entry's record (MDEF), if any.
    pub fn default_entry(&self) -> Option<&Record> {
        self.records.iter().find(|r| r.kind == 'e' && r.mdef)
    }
}

#[derive(Default, Clone)]
pub(crate) struct Ctx {
    vars: HashMap<String, String>,
    exported: HashSet<String>,
}

/// An entry of a menu (EN, EI, EB, ES, EW, EK in the awk code).
pub(crate) struct Entry {
    title: String,
    id: String,
    body: usize,
    sub: bool,
    at: String,
    why: String,
}

pub struct Grub<'a> {
    parts: Vec<Part<'a>>,
    cfgi: usize,
    whole: Option<usize>,
    nofs: String,
    pttype: String,
    pub(crate) toks: Vec<lex::Tok>,
    ctxs: Vec<Ctx>,
    ctx: usize,
    menus: Vec<Vec<usize>>,
    menu: usize,
    entries: Vec<Entry>,
    nentries: usize,
    funcs: HashMap<String, usize>,
    frames: Vec<Vec<String>>,
    status: i64,
    fret: bool,
    stopall: bool,
    synerr: String,
    steps: usize,
    budget: bool,
    nfiles: usize,
    readb: usize,
    readl: usize,
    nest: usize,
    top: (usize, usize),
    unknown: HashSet<String>,
    searched: HashSet<String>,
    inentry: bool,
    valwarn: bool,
    locerr: String,
    k: Loaded,
    nwarn: usize,
    out: Parsed,
}

/// What the entry being evaluated loads (K_* in the awk code).
#[derive(Default)]
struct Loaded {
    kernel: String,
    args: String,
    initrd: String,
    why: String,
    cfg: String,
    note: String,
}

/// Parse the GRUB config CFG of partition CFGNAME (gk_grub_parse_config).
pub fn parse(parts: Vec<Part<'_>>, cfgname: &str, cfg: &str, pttype: &str) -> Parsed {
    let cfgi = parts.iter().position(|p| p.name == cfgname);
    let mut g = Grub {
        whole: parts.iter().position(|p| p.num.is_none()),
        nofs: parts
            .iter()
            .filter(|p| p.files.is_none() && !p.fstype.is_empty())
            .map(|p| format!("/dev/{} ({})", p.name, p.fstype))
            .collect::<Vec<_>>()
            .join(", "),
        parts,
        cfgi: cfgi.unwrap_or(0),
        pttype: pttype.into(),
        toks: Vec::new(),
        ctxs: vec![Ctx::default()],
        ctx: 0,
        menus: vec![Vec::new()],
        menu: 0,
        entries: Vec::new(),
        nentries: 0,
        funcs: HashMap::new(),
        frames: vec![Vec::new()],
        status: 0,
        fret: false,
        stopall: false,
        synerr: String::new(),
        steps: 0,
        budget: false,
        nfiles: 0,
        readb: 0,
        readl: 0,
        nest: 0,
        top: (0, 0),
        unknown: HashSet::new(),
        searched: HashSet::new(),
        inentry: false,
        valwarn: false,
        locerr: String::new(),
        k: Loaded::default(),
        nwarn: 0,
        out: Parsed::default(),
    };
    if cfgi.is_none() {
        g.warn(format!(
            "the config's partition {cfgname} is not in the partition list"
        ));
        return g.out;
    }
    let legacy = cfg.ends_with("/menu.lst") || cfg.ends_with("/grub.conf");
    if legacy {
        g.legacy(cfg);
    } else {
        g.main(cfg);
    }
    if g.nwarn > 50 {
        let n = g.nwarn - 50;
        g.out.warnings.push(format!("{n} more warnings not shown"));
    }
    g.out
}

impl<'a> Grub<'a> {
    fn warn(&mut self, m: String) {
        if self.nwarn < 50 {
            self.out.warnings.push(m);
        }
        self.nwarn += 1;
    }

    fn read(&mut self, part: usize, path: &str) -> Option<Vec<u8>> {
        self.parts.get_mut(part)?.files.as_mut()?.read(path)
    }

    fn getvar(&self, nm: &str) -> String {
        let frame = self.frames.last().unwrap();
        if !nm.is_empty() && nm.bytes().all(|b| b.is_ascii_digit()) {
            let n: usize = nm.parse().unwrap_or(usize::MAX);
            return if n >= 1 {
                frame.get(n - 1).cloned().unwrap_or_default()
            } else {
                String::new()
            };
        }
        match nm {
            "#" => frame.len().to_string(),
            "?" => self.status.to_string(),
            "@" | "*" => frame.join(" "),
            _ => self.ctxs[self.ctx]
                .vars
                .get(nm)
                .cloned()
                .unwrap_or_default(),
        }
    }
    fn isset(&self, nm: &str) -> bool {
        self.ctxs[self.ctx].vars.contains_key(nm)
    }
    fn setvar(&mut self, nm: &str, val: &str) {
        let mut val = val;
        if val.len() > MAXVAL {
            if !self.valwarn {
                self.valwarn = true;
                self.warn(format!(
                    "a variable longer than {MAXVAL} bytes (${nm}; a loop?): cut there"
                ));
            }
            let mut end = MAXVAL;
            while !val.is_char_boundary(end) {
                end -= 1;
            }
            val = &val[..end];
        }
        // set root='hd0,gpt2': the table's type as the config names it.
        let v = val.strip_prefix('(').unwrap_or(val);
        if let Some((d, p)) = v.split_once(',') {
            let disk = d
                .strip_prefix("hd")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            for t in ["msdos", "gpt"] {
                if disk
                    && p.strip_prefix(t)
                        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
                {
                    self.pttype = t.into();
                }
            }
        }
        self.ctxs[self.ctx].vars.insert(nm.into(), val.into());
    }
    fn unsetvar(&mut self, nm: &str) {
        let c = &mut self.ctxs[self.ctx];
        c.vars.remove(nm);
        c.exported.remove(nm);
    }
    fn export(&mut self, nm: &str) {
        self.ctxs[self.ctx].exported.insert(nm.into());
    }
    /// newctx: a new context with FROM's exported variables (all when ALL).
    fn newctx(&mut self, from: usize, all: bool) -> usize {
        let f = &self.ctxs[from];
        let mut c = Ctx::default();
        for (k, v) in &f.vars {
            if all || f.exported.contains(k) {
                c.vars.insert(k.clone(), v.clone());
                if f.exported.contains(k) {
                    c.exported.insert(k.clone());
                }
            }
        }
        self.ctxs.push(c);
        self.ctxs.len() - 1
    }
    fn grubname(&self, i: usize) -> String {
        match self.parts[i].num {
            None => "hd0".into(),
            Some(n) => format!("hd0,{}{n}", self.pttype),
        }
    }
}

/// awk's string-to-number conversion (`s + 0`): a leading decimal number.
pub(crate) fn awk_num(s: &str) -> f64 {
    let t = s.trim_start_matches([' ', '\t', '\n']);
    let mut end = 0;
    let b = t.as_bytes();
    if end < b.len() && (b[end] == b'-' || b[end] == b'+') {
        end += 1;
    }
    while end < b.len() && (b[end].is_ascii_digit() || b[end] == b'.') {
        end += 1;
    }
    let mut n = t[..end].parse::<f64>();
    while n.is_err() && end > 0 {
        end -= 1;
        n = t[..end].parse::<f64>();
    }
    n.unwrap_or(0.0)
}

/// What boots with nobody at the keyboard (gk_plan for a GRUB config):
/// the entry the menu starts on (MDEF, else the first top-level entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub label: String,
    pub kernel: String,
    pub initrds: Vec<String>,
    pub cmdline: String,
    /// Hundredths of a second the menu waits (-1: forever), gk_grub_wait.
    pub wait: i64,
}

impl Parsed {
    /// The entry the menu starts on.
    pub fn start(&self) -> Option<&Record> {
        self.default_entry()
            .or_else(|| self.records.iter().find(|r| r.kind == 'e' && r.depth == 0))
    }

    /// gk_grub_wait.
    pub fn wait(&self) -> i64 {
        let t = self.timeout.as_str();
        if t.is_empty() || t.starts_with('-') {
            return -1;
        }
        super::number(t).min(999_999_999) as i64 * 100
    }

    /// gk_plan: Err(why) when the default is not a Linux kernel.
    pub fn plan(&self) -> Result<Plan, String> {
        let r = self.start().ok_or("no menu entry")?;
        if r.typ != "linux" {
            return Err(format!("'{}': {}", r.label, r.append));
        }
        let cmdline: Vec<&str> = r
            .append
            .split_whitespace()
            .filter(|w| !w.starts_with("initrd="))
            .collect();
        Ok(Plan {
            label: r.label.clone(),
            kernel: r.kernel.clone(),
            initrds: r
                .initrd
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            cmdline: cmdline.join(" "),
            wait: self.wait(),
        })
    }
}
