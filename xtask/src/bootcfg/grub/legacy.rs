//! GRUB legacy's menu.lst / grub.conf, as grub-legacy.awk reads it.

use super::{awk_num, Grub};

impl Grub<'_> {
    /// GRUB legacy's menu.lst / grub.conf (grub-legacy.awk).
    pub(super) fn legacy(&mut self, cfg: &str) {
        struct L {
            title: String,
            kernel: String,
            args: String,
            initrd: String,
            why: String,
        }
        let mut proot = self.grubname(self.cfgi);
        let (mut def, mut lt) = (String::from("0"), String::from("-"));
        let mut ents: Vec<L> = Vec::new();
        let text =
            String::from_utf8_lossy(&self.read(self.cfgi, cfg).unwrap_or_default()).into_owned();
        let mut lines: Vec<&str> = text.split('\n').collect();
        if text.ends_with('\n') || text.is_empty() {
            lines.pop();
        }
        for (n, line) in lines.iter().enumerate() {
            if n + 1 > super::MAXLINES {
                self.warn(format!(
                    "{cfg}: more than {} lines; the rest is skipped",
                    super::MAXLINES
                ));
                break;
            }
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = line
                .trim_start_matches([' ', '\t'])
                .trim_end_matches([' ', '\t']);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (c, rest) = match line.find([' ', '\t', '=']) {
                Some(i) => (&line[..i], line[i..].trim_start_matches([' ', '\t', '='])),
                None => (line, ""),
            };
            if c == "title" {
                ents.push(L {
                    title: rest.into(),
                    kernel: String::new(),
                    args: String::new(),
                    initrd: String::new(),
                    why: String::new(),
                });
                let r = proot.clone();
                self.setvar("root", &r);
                continue;
            }
            let Some(cur) = ents.len().checked_sub(1) else {
                match c {
                    "default" => def = rest.into(),
                    "timeout" => lt = format!("{}", awk_num(rest) as i64),
                    "root" | "rootnoverify" => proot = lgdev(rest, &self.pttype),
                    _ => {}
                }
                continue;
            };
            match c {
                "root" | "rootnoverify" => {
                    let d = lgdev(rest, &self.pttype);
                    self.setvar("root", &d);
                }
                "kernel" | "initrd" => {
                    let a: Vec<&str> = rest.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
                    let k = if c == "kernel" {
                        a.iter().position(|w| !w.starts_with("--"))
                    } else {
                        Some(0)
                    };
                    let Some(k) = k.filter(|&k| k < a.len()) else {
                        if c == "kernel" {
                            ents[cur].why = "kernel without a file".into();
                        }
                        continue;
                    };
                    let path = lgpath(a[k], &self.pttype);
                    let Some(l) = self.loc(&path) else {
                        ents[cur].why = format!("{c} {}: {}", a[k], self.locerr);
                        continue;
                    };
                    if !self.exists(&l) {
                        ents[cur].why = format!("{c} {}: no such file on /dev/{}", a[k], l.name);
                        continue;
                    }
                    if c == "kernel" {
                        ents[cur].kernel = l.rref;
                        ents[cur].args = format!("BOOT_IMAGE={}", a[k..].join(" "));
                    } else {
                        ents[cur].initrd = l.rref;
                    }
                }
                "chainloader" => {
                    ents[cur].why =
                        "chainloader starts another boot loader or boot sector (needs a BIOS)"
                            .into()
                }
                "configfile" => {
                    ents[cur].why =
                        format!("configfile {rest}: another menu (not followed for GRUB legacy)")
                }
                "reboot" | "halt" => ents[cur].why = format!("it runs {c}"),
                _ => {}
            }
        }
        self.out.timeout = lt;
        self.out.timeout_style = "menu".into();
        self.out.default = def.clone();
        let mut d = def.clone();
        if def == "saved" {
            let dir = cfg.rfind('/').map_or(cfg, |i| &cfg[..i]);
            let f = format!("{dir}/default");
            let first = self.read(self.cfgi, &f).map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string()
            });
            d = first.unwrap_or_else(|| "0".into());
        }
        let mut d = awk_num(&d) as i64;
        if d >= ents.len() as i64 {
            d = 0;
        }
        for (i, e) in ents.into_iter().enumerate() {
            let lab = e.title.replace('>', ">>");
            let isdef = i as i64 == d;
            let why = if e.why.is_empty() && e.kernel.is_empty() {
                "loads no Linux kernel (no kernel line)".to_string()
            } else {
                e.why
            };
            if !why.is_empty() {
                self.rec('e', 0, &lab, &e.title, "", "unbootable", &why, "", isdef);
            } else {
                self.rec(
                    'e', 0, &lab, &e.title, &e.kernel, "linux", &e.args, &e.initrd, isdef,
                );
            }
        }
    }
}

/// (hd0,N) -> hd0,msdosN+1 (GRUB legacy counts partitions from 0).
fn lgdev(s: &str, pt: &str) -> String {
    let s = s.trim_start_matches([' ', '\t']);
    let s = s.split([' ', '\t']).next().unwrap_or("");
    let s = s.strip_prefix('(').unwrap_or(s);
    let s = s.split(')').next().unwrap_or("");
    match s.split_once(',') {
        None => s.into(),
        Some((d, n)) => format!("{d},{pt}{}", awk_num(n) as i64 + 1),
    }
}

fn lgpath(p: &str, pt: &str) -> String {
    if !p.starts_with('(') {
        return p.into();
    }
    match p.find(')') {
        Some(k) => format!("({}){}", lgdev(&p[..=k], pt), &p[k + 1..]),
        None => format!("(){p}"),
    }
}
