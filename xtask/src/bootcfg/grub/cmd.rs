//! GRUB 2's commands as grub-cmd.awk runs them: variables, test, devices
//! and paths, the loaders, source and configfile.

use super::{awk_num, Grub};

const IGNORED: &[&str] = &[
    "echo",
    "insmod",
    "rmmod",
    "terminal_output",
    "terminal_input",
    "terminal",
    "serial",
    "set_gfxpayload",
    "gettext",
    "background_image",
    "background_color",
    "play",
    "sleep",
    "clear",
    "save_env",
    "boot",
    "cpuid",
    "lsmod",
    "videoinfo",
    "smbios",
    "tr",
    "password",
    "password_pbkdf2",
    "increment",
    "decrement",
    "pager",
    "loadfont",
    "keystatus",
    "fwsetup",
    "hwmatch",
    "regexp",
    "eval",
    "gfxmode",
    "load_video",
];
const FALSE_UNLESS_FUNC: &[&str] = &[
    "loadfont",
    "keystatus",
    "fwsetup",
    "hwmatch",
    "regexp",
    "eval",
];

/// Where a GRUB file is (loc in grub-cmd.awk).
pub struct Loc {
    pub part: usize,
    pub name: String,
    pub path: String,
    pub rref: String,
}

fn is_name_eq(c: &str) -> Option<(String, String)> {
    let (n, v) = c.split_once('=')?;
    let mut ch = n.chars();
    let ok = matches!(ch.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && ch.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| (n.to_string(), v.to_string()))
}

impl Grub<'_> {
    pub(super) fn runcmd(&mut self, p: usize, mut xa: Vec<String>) {
        let c = xa[0].clone();
        self.status = 0;
        let c = c.as_str();
        match c {
            "set" => {
                for a in &xa[1..] {
                    if let Some((n, v)) = a.split_once('=') {
                        let (n, v) = (n.to_string(), v.to_string());
                        self.setvar(&n, &v);
                    }
                }
                return;
            }
            "unset" => {
                for a in &xa[1..] {
                    self.unsetvar(a);
                }
                return;
            }
            "export" => {
                for a in &xa[1..] {
                    if !self.isset(a) {
                        self.setvar(a, "");
                    }
                    self.export(a);
                }
                return;
            }
            "[" | "test" => {
                if c == "[" && xa.last().map(String::as_str) == Some("]") {
                    xa.pop();
                }
                // No expression at all ([ $unset ]) is true, as GRUB 2.06 runs it.
                self.status = if xa.len() < 2 || self.test(&xa, 1) {
                    0
                } else {
                    1
                };
                return;
            }
            _ => {}
        }
        if c == "true" || IGNORED.contains(&c) {
            if FALSE_UNLESS_FUNC.contains(&c) && !self.funcs.contains_key(c) {
                self.status = 1;
            } else if self.funcs.contains_key(c) {
                self.call(c, p, &xa);
            }
            return;
        }
        match c {
            "false" => self.status = 1,
            "return" => {
                if xa.len() > 1 {
                    self.status = awk_num(&xa[1]) as i64;
                }
                self.fret = self.frames.len() > 1;
            }
            "exit" => self.stopall = true,
            "load_env" => self.loadenv(p, &xa),
            _ if c.starts_with("search") => self.search(p, &xa),
            "probe" => self.probe(&xa),
            "source" | "." => self.include(p, &xa, false),
            "configfile" | "normal" => {
                if xa.len() < 2 {
                    self.status = 1;
                } else if self.inentry {
                    self.k.cfg = xa[1].clone();
                } else {
                    self.include(p, &xa, true);
                }
            }
            "blscfg" => {
                if !self.inentry {
                    self.blscfg(p);
                }
            }
            "linux" | "linux16" | "linuxefi" => self.loadlinux(p, &xa),
            "initrd" | "initrd16" | "initrdefi" => self.loadinitrd(p, &xa),
            "multiboot" | "multiboot2" => self.loader(format!(
                "{c} starts a multiboot kernel (Xen, a hypervisor, ...), which gen-kexec does not"
            )),
            "chainloader" | "ntldr" | "drivemap" | "appleloader" | "bootnp" | "legacy_kernel" => {
                self.loader(format!(
                    "{c} starts another boot loader or boot sector (needs a BIOS)"
                ))
            }
            "kfreebsd" | "knetbsd" | "kopenbsd" | "xnu_kernel" | "xnu_kernel64" | "plan9"
            | "truecrypt" | "freedos" => self.loader(format!("{c} starts a non-Linux kernel")),
            "halt" | "reboot" => {
                if self.inentry {
                    self.k.note = format!("it runs {c}");
                }
            }
            "module" | "module2" => {}
            _ if self.funcs.contains_key(c) => self.call(c, p, &xa),
            _ => {
                if xa.len() == 1 {
                    if let Some((n, v)) = is_name_eq(c) {
                        self.setvar(&n, &v);
                        return;
                    }
                }
                self.status = 1;
                if self.unknown.insert(c.to_string()) {
                    let m = format!("{}: unknown command '{c}' (GRUB says: can't find command; gen-kexec ignores it)", self.where_(p));
                    self.warn(m);
                }
            }
        }
    }

    /// devname: the partition for GRUB device SPEC; Err(why).
    pub(super) fn devname(&mut self, spec: &str) -> Result<usize, String> {
        let spec = spec.strip_prefix('(').unwrap_or(spec);
        let spec = spec.strip_suffix(')').unwrap_or(spec);
        if spec.is_empty() {
            return Err("no device (root is not set)".into());
        }
        let (d, part) = spec.split_once(',').unwrap_or((spec, ""));
        if d == "cd" || d == "cd0" || (d == "hd0" && part.is_empty()) {
            return Ok(self.whole.unwrap_or(self.cfgi));
        }
        if d != "hd0" {
            return Err(format!(
                "({spec}) is another disk than the one gen-kexec started from"
            ));
        }
        let Some(s) = part.find(|c: char| c.is_ascii_digit()) else {
            return Err(format!("({spec}): no partition number"));
        };
        let digits: String = part[s..].chars().take_while(char::is_ascii_digit).collect();
        // The table's type as the config names it: what search calls them.
        if matches!(&part[..s], "msdos" | "gpt") {
            self.pttype = part[..s].to_string();
        }
        if part[s + digits.len()..].contains(',') {
            return Err(format!("({spec}): nested partitions are not supported"));
        }
        let n = digits.trim_start_matches('0');
        let n = if n.is_empty() { "0" } else { n };
        self.parts
            .iter()
            .position(|p| p.num.map(|x| x.to_string()).as_deref() == Some(n))
            .ok_or_else(|| format!("({spec}): the disk has no partition {n}"))
    }

    /// loc: where GRUB file PATH is; None with the reason in self.locerr.
    pub(super) fn loc(&mut self, path: &str) -> Option<Loc> {
        self.locerr.clear();
        let mut dev = self.getvar("root");
        let mut path = path.to_string();
        if path.starts_with('(') {
            let Some(k) = path.find(')') else {
                self.locerr = format!("{path}: no closing )");
                return None;
            };
            dev = path[1..k].to_string();
            path = path[k + 1..].to_string();
        }
        if !path.is_empty() && !path.starts_with('/') {
            self.locerr = format!("{path}: not an absolute path (GRUB: invalid file name)");
            return None;
        }
        let part = match self.devname(&dev) {
            Ok(i) => i,
            Err(e) => {
                self.locerr = e;
                return None;
            }
        };
        let p = &self.parts[part];
        if p.files.is_none() {
            self.locerr = if p.fstype.is_empty() {
                format!("/dev/{} holds no filesystem gen-kexec knows", p.name)
            } else {
                format!("/dev/{} holds a {} filesystem, which gen-kexec cannot read (it reads iso9660, vfat and ext2/3/4)", p.name, p.fstype)
            };
            return None;
        }
        let name = p.name.clone();
        let shown = if path.is_empty() {
            "/".to_string()
        } else {
            path.clone()
        };
        let rref = if part == self.cfgi {
            shown
        } else {
            format!("({name}){shown}")
        };
        Some(Loc {
            part,
            name,
            path,
            rref,
        })
    }

    pub(super) fn exists(&mut self, l: &Loc) -> bool {
        self.read(l.part, &l.path).is_some()
    }

    /// source / configfile FILE.
    fn include(&mut self, p: usize, xa: &[String], cfgfile: bool) {
        let path = xa.get(1).cloned().unwrap_or_default();
        if path.is_empty() {
            self.status = 1;
            return;
        }
        let Some(l) = self.loc(&path) else {
            let m = format!("{}: {} {path}: {}", self.where_(p), xa[0], self.locerr);
            self.warn(m);
            self.status = 1;
            return;
        };
        if self.nest >= super::MAXNEST {
            let m = format!(
                "{}: {} {path}: nested more than {} deep (a loop?); skipped",
                self.where_(p),
                xa[0],
                super::MAXNEST
            );
            self.warn(m);
            self.status = 1;
            return;
        }
        let Some(first) = self.lexfile(l.part, &l.path, &path) else {
            if !self.budget {
                let m = format!(
                    "{}: {} {path}: no such file; skipped",
                    self.where_(p),
                    xa[0]
                );
                self.warn(m);
            }
            self.status = 1;
            return;
        };
        self.nest += 1;
        if !cfgfile {
            self.xtop(first);
            self.nest -= 1;
            return;
        }
        let (sctx, smenu) = (self.ctx, self.menu);
        self.ctx = self.newctx(self.ctx, false);
        self.menus.push(Vec::new());
        self.menu = self.menus.len() - 1;
        self.setvar("config_file", &path);
        let dir = match path.rfind('/') {
            Some(i) => path[..i].to_string(),
            None => path.clone(),
        };
        self.setvar("config_directory", &dir);
        self.xtop(first);
        self.nest -= 1;
        if !self.menus[self.menu].is_empty() {
            self.top = (self.menu, self.ctx);
            self.stopall = true;
            return;
        }
        self.ctx = sctx;
        self.menu = smenu;
    }
}
