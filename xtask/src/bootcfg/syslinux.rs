//! The syslinux config parser (syslinux.sh): records for every entry and the
//! globals, includes pasted in place, within the same budgets.

use anyhow::Result;

use super::{number, path, words, ReadFile};

pub const MAX_NESTING: usize = 16;
pub const MAX_LINE: usize = 4096;
pub const BUDGET_BYTES: u64 = 4 << 20;
pub const BUDGET_LINES: u64 = 100_000;
pub const BUDGET_FILES: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A label that runs a command.
    Entry,
    /// MENU HIDE.
    Hidden,
    /// MENU SEPARATOR.
    Separator,
    /// MENU DISABLE.
    Disabled,
    /// MENU EXIT/GOTO/QUIT: navigation.
    Nav,
    /// MENU BEGIN (title = its tag).
    Begin,
    /// MENU END.
    End,
    /// The title of the submenu being read.
    Title,
}

#[derive(Clone, Debug)]
pub struct Record {
    pub kind: Kind,
    pub depth: usize,
    /// The rest of the LABEL line.
    pub label: String,
    /// MENU LABEL, else the label.
    pub title: String,
    /// The KERNEL (LINUX, COM32, ...) line with its inline arguments.
    pub kernel: String,
    /// syslinux's kernel type: kernel, linux, localboot, com32, config, ...
    pub ktype: String,
    /// Resolved against the global APPEND (`-` = none), blanks collapsed.
    pub append: String,
    pub initrd: String,
    pub menu_default: bool,
}

/// A parsed config: its records and globals.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub cfg: String,
    /// syslinux's working directory.
    pub cwd: String,
    pub records: Vec<Record>,
    pub default: String,
    pub ui: String,
    pub prompt: u64,
    pub timeout: u64,
    pub totaltimeout: u64,
    pub ontimeout: String,
    pub global_append: String,
    pub title: String,
    /// Missing includes, exceeded budgets, over-long lines.
    pub warnings: Vec<String>,
}

#[derive(Default)]
struct Pending {
    name: String,
    kernel: String,
    ktype: String,
    append: Option<String>,
    initrd: String,
    mlabel: String,
    mdef: bool,
    hide: bool,
    disabled: bool,
    nav: bool,
    sep: bool,
}

struct Parser<'r, 'a> {
    c: Config,
    l: Pending,
    depth: usize,
    nesting: usize,
    bytes: u64,
    lines: u64,
    files: usize,
    hit: bool,
    read: &'r mut ReadFile<'a>,
}

/// gk_parse_config: CFG and all it includes; CWD defaults to CFG's directory.
pub fn parse(cfg: &str, cwd: Option<&str>, read: &mut ReadFile) -> Result<Config> {
    let dir = cwd
        .map(str::to_owned)
        .unwrap_or_else(|| match cfg.rfind('/') {
            Some(i) => cfg[..i].to_owned(),
            None => cfg.to_owned(),
        });
    let mut p = Parser {
        c: Config {
            cfg: cfg.into(),
            cwd: if dir.is_empty() { "/".into() } else { dir },
            ..Config::default()
        },
        l: Pending::default(),
        depth: 0,
        nesting: 0,
        bytes: 0,
        lines: 0,
        files: 0,
        hit: false,
        read,
    };
    p.file(cfg, cfg)?;
    p.record();
    while p.depth > 0 {
        p.push(Kind::End, "");
        p.depth -= 1;
    }
    Ok(p.c)
}

/// The awk lexer: (line number, keyword in lower case, rest) for the lines
/// syslinux acts on, bytes and lines read, the first over-long line.
struct Lexed {
    bytes: u64,
    lines: u64,
    long: u64,
    out: Vec<(u64, String, String)>,
}

const KEYWORDS: &[&str] = &[
    "label",
    "kernel",
    "linux",
    "append",
    "initrd",
    "include",
    "default",
    "ui",
    "timeout",
    "totaltimeout",
    "ontimeout",
    "prompt",
    "path",
    "ipappend",
    "sysappend",
    "localboot",
    "boot",
    "bss",
    "pxe",
    "fdimage",
    "comboot",
    "com32",
    "config",
];
const MENU_KEYWORDS: &[&str] = &[
    "label",
    "title",
    "default",
    "hide",
    "disable",
    "disabled",
    "exit",
    "goto",
    "quit",
    "separator",
    "begin",
    "end",
    "include",
];

fn split_blank(s: &str) -> (&str, &str) {
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

fn lex(data: &[u8]) -> Lexed {
    let mut lx = Lexed {
        bytes: 0,
        lines: 0,
        long: 0,
        out: Vec::new(),
    };
    let mut body = data;
    if body.last() == Some(&b'\n') {
        body = &body[..body.len() - 1];
    }
    if data.is_empty() {
        return lx;
    }
    let mut intext = false;
    for raw in body.split(|&b| b == b'\n') {
        lx.lines += 1;
        if raw.len() > MAX_LINE {
            lx.long = lx.lines;
            break;
        }
        lx.bytes += raw.len() as u64 + 1;
        let raw = match raw.iter().position(|&b| b == b'\r') {
            Some(i) => &raw[..i],
            None => raw,
        };
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_start_matches([' ', '\t']);
        let (w, rest) = split_blank(line);
        let mut rest = rest.trim_matches([' ', '\t']);
        let mut kw = w.to_ascii_lowercase();
        if intext {
            intext = kw != "endtext";
            continue;
        }
        if kw == "text" {
            intext = true;
            continue;
        }
        if kw == "menu" {
            let (w, r) = split_blank(rest);
            rest = r.trim_start_matches([' ', '\t']);
            kw = w.to_ascii_lowercase();
            if !MENU_KEYWORDS.contains(&kw.as_str()) {
                continue;
            }
            kw = format!("menu.{kw}");
        } else if !KEYWORDS.contains(&kw.as_str()) {
            continue;
        }
        lx.out.push((lx.lines, kw, rest.to_owned()));
    }
    lx
}

impl Parser<'_, '_> {
    fn warn(&mut self, m: String) {
        self.c.warnings.push(m);
    }

    fn push(&mut self, kind: Kind, title: &str) {
        self.c.records.push(Record {
            kind,
            depth: self.depth,
            label: String::new(),
            title: title.into(),
            kernel: String::new(),
            ktype: String::new(),
            append: String::new(),
            initrd: String::new(),
            menu_default: false,
        });
    }

    /// gk_label_record: close the label being read.
    fn record(&mut self) {
        if self.l.name.is_empty() && !self.l.sep {
            // No label yet: what MENU HIDE/DISABLE set before it is
            // dropped (syslinux's LABEL clears them).
            self.l = Default::default();
            return;
        }
        let l = std::mem::take(&mut self.l);
        let mut append = words(l.append.as_deref().unwrap_or(&self.c.global_append));
        if append == "-" {
            append.clear();
        }
        let kind = if l.sep {
            Kind::Separator
        } else if l.disabled {
            Kind::Disabled
        } else if l.nav {
            Kind::Nav
        } else if l.hide {
            Kind::Hidden
        } else {
            Kind::Entry
        };
        let title = match kind {
            Kind::Separator => String::new(),
            _ if l.mlabel.is_empty() => l.name.clone(),
            _ => l.mlabel,
        };
        self.c.records.push(Record {
            kind,
            depth: self.depth,
            label: l.name,
            title,
            kernel: l.kernel,
            ktype: l.ktype,
            append,
            initrd: l.initrd,
            menu_default: l.mdef,
        });
    }

    /// gk_parse_file.
    fn file(&mut self, file: &str, at: &str) -> Result<()> {
        if self.hit {
            return Ok(());
        }
        let Some(data) = (self.read)(file)? else {
            self.warn(format!("{at}: include {file}: no such file; skipped"));
            return Ok(());
        };
        self.files += 1;
        if self.files > BUDGET_FILES {
            self.hit = true;
            self.warn(format!(
                "{at}: include {file}: more than {BUDGET_FILES} config files read"
            ));
            return Ok(());
        }
        if self.nesting >= MAX_NESTING {
            self.warn(format!(
                "{at}: include {file}: nested more than {MAX_NESTING} deep"
            ));
            return Ok(());
        }
        let lx = lex(&data);
        drop(data);
        self.bytes += lx.bytes;
        self.lines += lx.lines;
        if self.bytes > BUDGET_BYTES || self.lines > BUDGET_LINES {
            self.hit = true;
            self.warn(format!(
                "{at}: {file}: more than 4 MiB or {BUDGET_LINES} lines read"
            ));
            return Ok(());
        }
        if lx.long != 0 {
            self.warn(format!(
                "{file}:{}: line longer than {MAX_LINE} bytes; the rest is skipped",
                lx.long
            ));
        }
        self.nesting += 1;
        for (n, kw, rest) in lx.out {
            if self.hit {
                break;
            }
            self.line(&format!("{file}:{n}"), &kw, &rest)?;
        }
        self.nesting -= 1;
        Ok(())
    }

    fn submenu(&mut self, title: &str) {
        self.record();
        self.depth += 1;
        self.push(Kind::Begin, title);
    }

    fn end(&mut self) {
        self.record();
        if self.depth > 0 {
            self.push(Kind::End, "");
            self.depth -= 1;
        }
    }

    fn line(&mut self, at: &str, kw: &str, rest: &str) -> Result<()> {
        let named = !self.l.name.is_empty();
        match kw {
            "menu.label" if named => self.l.mlabel = rest.into(),
            "menu.label" | "menu.title" if self.depth > 0 => self.push(Kind::Title, rest),
            "menu.title" => self.c.title = rest.into(),
            "menu.default" => self.l.mdef |= named,
            "menu.hide" => self.l.hide = true,
            "menu.disable" | "menu.disabled" => self.l.disabled = true,
            "menu.exit" | "menu.goto" | "menu.quit" => self.l.nav |= named,
            "menu.separator" => {
                self.record();
                self.l.sep = true;
                self.record();
            }
            "menu.begin" => self.submenu(rest),
            "menu.end" => self.end(),
            "menu.include" => {
                let (word, tag) = split_blank(rest);
                let tag = tag.trim_matches([' ', '\t', '\r']);
                let file = path(&self.c.cwd, word);
                if !tag.is_empty() && (self.read)(&file)?.is_some() {
                    self.submenu(tag);
                    self.file(&file, at)?;
                    self.record();
                    self.push(Kind::End, "");
                    self.depth -= 1;
                } else {
                    self.file(&file, at)?;
                }
            }
            "include" => {
                let file = path(&self.c.cwd, split_blank(rest).0);
                self.file(&file, at)?;
            }
            "label" => {
                self.record();
                self.l.name = if rest.is_empty() {
                    " ".into()
                } else {
                    rest.into()
                };
                self.l.kernel = rest.into();
                self.l.ktype = "kernel".into();
            }
            "kernel" | "linux" | "localboot" | "boot" | "bss" | "pxe" | "fdimage" | "comboot"
            | "com32" | "config"
                if named =>
            {
                self.l.kernel = words(rest);
                self.l.ktype = kw.into();
            }
            "append" if named => self.l.append = Some(rest.into()),
            "append" => self.c.global_append = rest.into(),
            "initrd" if named => self.l.initrd = words(rest),
            "default" => self.c.default = words(rest),
            "ui" => self.c.ui = words(rest),
            "timeout" => self.c.timeout = number(rest),
            "totaltimeout" => self.c.totaltimeout = number(rest),
            "ontimeout" => self.c.ontimeout = words(rest),
            "prompt" => self.c.prompt = number(rest),
            _ => {}
        }
        Ok(())
    }
}
