//! The menu a GRUB config shows and what its entries boot, as
//! grub-menu.awk and grub-legacy.awk compute them (grub-core/normal/menu.c:
//! the default by number, title or --id, a '>' path into submenus).

use super::{awk_num, Grub, Loaded, Record};

const FEATURES: &[&str] = &[
    "chainloader_bpb",
    "ntldr",
    "platform_search_hint",
    "default_font_path",
    "all_video_module",
    "menuentry_id",
    "menuentry_options",
    "200_final",
    "nativedisk_cmd",
    "timeout_style",
];

impl Grub<'_> {
    pub(super) fn main(&mut self, cfg: &str) {
        for f in FEATURES {
            let n = format!("feature_{f}");
            self.setvar(&n, "y");
            self.export(&n);
        }
        self.setvar("grub_platform", "pc");
        self.setvar("grub_cpu", "i386");
        let dev = self.grubname(self.cfgi);
        self.setvar("root", &dev);
        let dir = match cfg.rfind('/') {
            Some(i) => &cfg[..i],
            None => cfg,
        };
        self.setvar("prefix", &format!("({dev}){dir}"));
        self.setvar("config_file", &format!("({dev}){cfg}"));
        self.setvar("config_directory", &format!("({dev}){dir}"));
        for v in ["root", "prefix", "grub_platform", "grub_cpu"] {
            self.export(v);
        }
        let Some(first) = self.lexfile(self.cfgi, cfg, cfg) else {
            self.warn(format!("{cfg}: cannot be read"));
            return;
        };
        self.nest = 1;
        self.xtop(first);
        self.stopall = false;
        self.fret = false;
        let (m, c) = self.top;
        self.ctx = c;
        self.menu = m;
        self.out.timeout = if self.isset("timeout") {
            self.getvar("timeout")
        } else {
            "-".into()
        };
        self.out.timeout_style = self.getvar("timeout_style");
        self.out.default = self.getvar("default");
        self.walk(m, c, 0, true, "");
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn rec(
        &mut self,
        kind: char,
        depth: usize,
        label: &str,
        title: &str,
        kernel: &str,
        typ: &str,
        append: &str,
        initrd: &str,
        mdef: bool,
    ) {
        self.out.records.push(Record {
            kind,
            depth,
            label: label.into(),
            title: title.into(),
            kernel: kernel.into(),
            typ: typ.into(),
            append: append.into(),
            initrd: initrd.into(),
            mdef,
        });
    }

    /// walk: the records of menu M (context C).
    fn walk(&mut self, m: usize, c: usize, depth: usize, ondef: bool, lp: &str) {
        self.ctx = c;
        let di = if ondef { self.entrynum(m) as i64 } else { -1 };
        for i in 0..self.menus[m].len() {
            let e = self.menus[m][i];
            let t = self.entries[e].title.clone();
            let isdef = i as i64 == di;
            let esc = t.replace('>', ">>");
            let lab = if lp.is_empty() {
                esc
            } else {
                format!("{lp}>{esc}")
            };
            if self.entries[e].sub && depth >= 8 {
                let why = "a submenu nested more than 8 deep (a loop?); not read";
                self.rec('e', depth, &lab, &t, "", "unbootable", why, "", isdef);
                continue;
            }
            if self.entries[e].sub {
                self.rec('m', depth + 1, "", &t, "", "", "", "", false);
                self.sub_ctx(c, isdef);
                self.menus.push(Vec::new());
                let nm = self.menus.len() - 1;
                self.menu = nm;
                let nc = self.ctx;
                let body = self.entries[e].body;
                self.xlist(body, &["}"], true);
                self.stopall = false;
                self.fret = false;
                self.walk(nm, nc, depth + 1, isdef, &lab);
                self.rec('M', depth + 1, "", "", "", "", "", "", false);
                self.ctx = c;
                continue;
            }
            self.ctx = self.newctx(c, true);
            self.inentry = true;
            self.k = Loaded {
                why: self.entries[e].why.clone(),
                ..Loaded::default()
            };
            if self.k.why.is_empty() {
                let body = self.entries[e].body;
                self.xlist(body, &["}"], true);
            }
            self.inentry = false;
            self.stopall = false;
            self.fret = false;
            if !self.k.cfg.is_empty()
                && self.k.kernel.is_empty()
                && self.k.why.is_empty()
                && depth < 8
            {
                self.rec('m', depth + 1, "", &t, "", "", "", "", false);
                let r = self.k.cfg.clone();
                self.sub_ctx(self.ctx, false);
                self.menus.push(Vec::new());
                let nm = self.menus.len() - 1;
                self.menu = nm;
                let nc = self.ctx;
                let first = match self.loc(&r) {
                    Some(l) => self.lexfile(l.part, &l.path, &r),
                    None => None,
                };
                match first {
                    Some(f) => {
                        self.nest += 1;
                        self.xtop(f);
                        self.nest -= 1;
                    }
                    None => {
                        let why = if self.locerr.is_empty() {
                            "no such file".to_string()
                        } else {
                            self.locerr.clone()
                        };
                        let m = format!(
                            "{}: menuentry '{t}': configfile {r}: {why}",
                            self.entries[e].at
                        );
                        self.warn(m);
                    }
                }
                self.stopall = false;
                self.walk(nm, nc, depth + 1, isdef, &lab);
                self.rec('M', depth + 1, "", "", "", "", "", "", false);
                self.ctx = c;
                continue;
            }
            let k = std::mem::take(&mut self.k);
            if !k.kernel.is_empty() && k.why.is_empty() {
                self.rec(
                    'e', depth, &lab, &t, &k.kernel, "linux", &k.args, &k.initrd, isdef,
                );
            } else {
                let why = if !k.why.is_empty() {
                    k.why
                } else if !k.note.is_empty() {
                    format!("{} and loads no Linux kernel", k.note)
                } else {
                    "loads no Linux kernel (no linux command)".into()
                };
                self.rec('e', depth, &lab, &t, "", "unbootable", &why, "", isdef);
            }
            self.ctx = c;
        }
    }

    /// sub_ctx: a submenu's context, with the rest of the default path.
    fn sub_ctx(&mut self, from: usize, isdef: bool) {
        let val = self.ctxs[from]
            .vars
            .get("default")
            .cloned()
            .unwrap_or_default();
        self.ctx = self.newctx(from, false);
        let mut rest = String::new();
        if isdef {
            let b = val.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'>' && b.get(i + 1) == Some(&b'>') {
                    i += 2;
                    continue;
                }
                if b[i] == b'>' {
                    break;
                }
                i += 1;
            }
            if i + 1 < b.len() {
                rest = val[i + 1..].to_string();
            }
        }
        if !rest.is_empty() {
            self.setvar("default", &rest);
        }
        if isdef {
            self.setvar("timeout", "0");
        }
    }

    /// entrynum: the default entry of menu M, from 0.
    fn entrynum(&self, m: usize) -> usize {
        if !self.isset("default") {
            return 0;
        }
        let val = self.getvar("default");
        let t = val.trim_start_matches([' ', '\t']);
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let after = &t[digits..];
            if after.is_empty() || after.starts_with('>') {
                let i = awk_num(&t[..digits]) as usize;
                return if i < self.menus[m].len() { i } else { 0 };
            }
        }
        for (i, &e) in self.menus[m].iter().enumerate() {
            let en = &self.entries[e];
            if menueq(&en.title, &val) || (!en.id.is_empty() && menueq(&en.id, &val)) {
                return i;
            }
        }
        0
    }
}

/// menueq: does SPEC's first '>'-separated part name TITLE?
fn menueq(t: &str, s: &str) -> bool {
    let (t, s) = (t.as_bytes(), s.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        let c = s.get(j).copied();
        if c == Some(b'>') && s.get(j + 1) != Some(&b'>') {
            return i >= t.len();
        }
        if c == Some(b'>') {
            j += 1;
        }
        if t.get(i) != s.get(j) {
            return false;
        }
        if i >= t.len() {
            return true;
        }
        i += 1;
        j += 1;
    }
}
