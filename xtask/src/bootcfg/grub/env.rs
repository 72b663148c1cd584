//! GRUB 2's search, probe, load_env and blscfg, as grub-env.awk runs them.

use std::cmp::Ordering;

use super::{Entry, Grub};

struct Bls {
    path: String,
    id: String,
    title: String,
    version: String,
    linux: String,
    options: String,
    initrd: String,
}

impl Grub<'_> {
    pub(super) fn search(&mut self, p: usize, xa: &[String]) {
        let c = xa[0].as_str();
        let mut mode = "file";
        if c == "search.fs_uuid" || c == "search_fs_uuid" {
            mode = "uuid";
        } else if matches!(
            c,
            "search.fs_label" | "search_fs_label" | "search.label" | "search_label"
        ) {
            mode = "label";
        } else if c != "search" && c != "search.file" && c != "search_file" {
            self.status = 1;
            return;
        }
        let mut var = String::new();
        let mut pos: Vec<&str> = Vec::new();
        let mut k = 1;
        while k < xa.len() {
            let a = xa[k].as_str();
            if c == "search" && a.starts_with('-') {
                match a {
                    "--file" | "-f" => mode = "file",
                    "--label" | "-l" => mode = "label",
                    "--fs-uuid" | "-u" => mode = "uuid",
                    "--set" | "-s" => var = "root".into(),
                    _ if a.starts_with("--set=") => var = a[6..].into(),
                    _ if a.starts_with("--hint") && !a.contains('=') => k += 1,
                    _ => {}
                }
                k += 1;
                continue;
            }
            pos.push(a);
            k += 1;
        }
        let key = pos.first().copied().unwrap_or("").to_string();
        if c != "search" {
            var = pos.get(1).copied().unwrap_or("root").to_string();
        }
        if key.is_empty() {
            self.status = 1;
            return;
        }
        let mut hit = None;
        for i in 0..self.parts.len() {
            let pt = &self.parts[i];
            let found = match mode {
                "uuid" => !pt.uuid.is_empty() && pt.uuid.to_lowercase() == key.to_lowercase(),
                "label" => !pt.label.is_empty() && pt.label == key,
                _ => pt.files.is_some() && self.read(i, &key).is_some(),
            };
            if found {
                hit = Some(i);
                break;
            }
        }
        let Some(i) = hit else {
            self.status = 1;
            if self.searched.insert(format!("{mode}\x1c{key}")) {
                let opt = match mode {
                    "file" => "--file",
                    "uuid" => "--fs-uuid",
                    _ => "--label",
                };
                let not = if self.nofs.is_empty() {
                    String::new()
                } else {
                    format!("; not searched: {}", self.nofs)
                };
                let m = format!("{}: search {opt} {key}: no partition of this disk has it (GRUB: no such device){not}", self.where_(p));
                self.warn(m);
            }
            return;
        };
        if !var.is_empty() {
            let v = self.grubname(i);
            self.setvar(&var, &v);
        }
    }

    pub(super) fn probe(&mut self, xa: &[String]) {
        let (mut var, mut what, mut dev) = (String::new(), "", String::new());
        let mut k = 1;
        while k < xa.len() {
            let a = xa[k].as_str();
            if a == "--set" || a == "-s" {
                k += 1;
                var = xa.get(k).cloned().unwrap_or_default();
            } else if let Some(v) = a.strip_prefix("--set=") {
                var = v.into();
            } else if matches!(a, "--fs-uuid" | "-u" | "--label" | "-l" | "--fs" | "-f") {
                what = a;
            } else {
                dev = a.into();
            }
            k += 1;
        }
        let Ok(i) = self.devname(&dev) else {
            self.status = 1;
            return;
        };
        let pt = &self.parts[i];
        let v = if what.contains('u') {
            pt.uuid.clone()
        } else if what.contains('l') {
            pt.label.clone()
        } else {
            pt.fstype.clone()
        };
        if !var.is_empty() {
            self.setvar(&var, &v);
        }
    }

    pub(super) fn loadenv(&mut self, p: usize, xa: &[String]) {
        let mut file = String::new();
        let mut want: Vec<&str> = Vec::new();
        let mut k = 1;
        while k < xa.len() {
            let a = xa[k].as_str();
            if a == "-f" || a == "--file" {
                k += 1;
                file = xa.get(k).cloned().unwrap_or_default();
            } else if let Some(v) = a.strip_prefix("--file=") {
                file = v.into();
            } else if a != "--skip-sig" && a != "-s" {
                want.push(a);
            }
            k += 1;
        }
        if file.is_empty() {
            file = format!("{}/grubenv", self.getvar("prefix"));
        }
        let Some(l) = self.loc(&file) else {
            let m = format!("{}: load_env {file}: {}", self.where_(p), self.locerr);
            self.warn(m);
            self.status = 1;
            return;
        };
        let Some(data) = self.read(l.part, &l.path) else {
            self.status = 1;
            return;
        };
        let text = String::from_utf8_lossy(&data).into_owned();
        if text.is_empty() {
            return;
        }
        for (n, line) in text.split('\n').enumerate() {
            if n == 0 {
                if line != "# GRUB Environment Block" {
                    let m = format!(
                        "{}: load_env {file}: not a GRUB environment block",
                        self.where_(p)
                    );
                    self.warn(m);
                    self.status = 1;
                    break;
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let Some((nm, rest)) = line.split_once('=') else {
                continue;
            };
            let mut val = String::new();
            let mut it = rest.chars();
            while let Some(c) = it.next() {
                if c == '\\' {
                    if let Some(d) = it.next() {
                        val.push(d);
                    }
                } else {
                    val.push(c);
                }
            }
            if want.is_empty() || want.contains(&nm) {
                self.setvar(nm, &val);
            }
        }
    }

    pub(super) fn blscfg(&mut self, p: usize) {
        let dev = if self.isset("boot") {
            self.getvar("boot")
        } else {
            self.getvar("root")
        };
        let part = match self.devname(&dev) {
            Ok(i) => i,
            Err(e) => {
                let m = format!("{}: blscfg: {e}", self.where_(p));
                self.warn(m);
                self.status = 1;
                return;
            }
        };
        let mut list = Vec::new();
        let mut pre = "";
        for dir in ["/loader/entries", "/boot/loader/entries"] {
            let names = match self.parts[part].files.as_mut() {
                Some(f) => f.list(dir),
                None => Vec::new(),
            };
            list = names
                .into_iter()
                .filter(|n| n.ends_with(".conf"))
                .map(|n| format!("{dir}/{n}"))
                .collect();
            if !list.is_empty() {
                pre = if dir == "/boot/loader/entries" {
                    "/boot"
                } else {
                    ""
                };
                break;
            }
        }
        if list.is_empty() {
            let m = format!(
                "{}: blscfg: no /loader/entries/*.conf on /dev/{}",
                self.where_(p),
                self.parts[part].name
            );
            self.warn(m);
            return;
        }
        let mut entries = Vec::new();
        for path in list {
            let id = path
                .rsplit('/')
                .next()
                .unwrap_or("")
                .trim_end_matches(".conf")
                .to_string();
            let mut b = Bls {
                path: path.clone(),
                id,
                title: String::new(),
                version: String::new(),
                linux: String::new(),
                options: String::new(),
                initrd: String::new(),
            };
            let text =
                String::from_utf8_lossy(&self.read(part, &path).unwrap_or_default()).into_owned();
            for line in text.split('\n') {
                let line = line
                    .trim_start_matches([' ', '\t'])
                    .trim_end_matches([' ', '\t', '\r']);
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (key, val) = match line.find([' ', '\t']) {
                    Some(i) => (&line[..i], line[i..].trim_start_matches([' ', '\t'])),
                    None => (line, ""),
                };
                let add = |s: &mut String| {
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    s.push_str(val);
                };
                match key {
                    "title" => b.title = val.into(),
                    "version" => b.version = val.into(),
                    "linux" => b.linux = val.into(),
                    "options" => add(&mut b.options),
                    "initrd" => add(&mut b.initrd),
                    _ => {}
                }
            }
            if b.title.is_empty() {
                b.title = b.id.clone();
            }
            entries.push(b);
        }
        // Insertion sort, newest first, as the awk code (stable).
        for i in 1..entries.len() {
            let mut j = i;
            while j > 0 && newer(&entries[j], &entries[j - 1]) {
                entries.swap(j, j - 1);
                j -= 1;
            }
        }
        let dev = dev
            .trim_start_matches('(')
            .trim_end_matches(')')
            .to_string();
        let dev = format!("({dev})");
        for b in entries {
            self.blsentry(&b, pre, &dev);
        }
    }

    fn blsentry(&mut self, b: &Bls, pre: &str, dev: &str) {
        let q = |path: &str| {
            let pre = if path.starts_with(&format!("{pre}/")) {
                ""
            } else {
                pre
            };
            format!("'{}'", format!("{dev}{pre}{path}").replace('\'', "'\\''"))
        };
        let mut s = format!("linux {} {}\n", q(&b.linux), b.options);
        if !b.initrd.is_empty() {
            s.push_str("initrd");
            for part in b.initrd.split([' ', '\t']).filter(|s| !s.is_empty()) {
                s.push(' ');
                s.push_str(&q(part));
            }
            s.push('\n');
        }
        s.push_str("}\n");
        if b.linux.is_empty() {
            s = "}\n".into();
        }
        let first = self.toks.len();
        self.lex(&s, &b.path);
        if self.nentries >= super::MAXENTRIES {
            return;
        }
        let why = if b.linux.is_empty() {
            "the BLS entry has no linux line".to_string()
        } else {
            String::new()
        };
        self.push_entry(Entry {
            title: b.title.clone(),
            id: b.id.clone(),
            body: first,
            sub: false,
            at: format!("blscfg {}.conf", b.id),
            why,
        });
    }
}

fn newer(a: &Bls, b: &Bls) -> bool {
    let va = if a.version.is_empty() {
        &a.id
    } else {
        &a.version
    };
    let vb = if b.version.is_empty() {
        &b.id
    } else {
        &b.version
    };
    match vercmp(va, vb) {
        Ordering::Equal => a.id > b.id,
        o => o == Ordering::Greater,
    }
}

/// rpm's version comparison as grub-env.awk's vercmp.
fn vercmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    let sep = |c: char| !c.is_ascii_alphanumeric();
    while !a.is_empty() || !b.is_empty() {
        a = a.trim_start_matches(sep);
        b = b.trim_start_matches(sep);
        if a.is_empty() || b.is_empty() {
            return (!a.is_empty()).cmp(&!b.is_empty());
        }
        let na = a.starts_with(|c: char| c.is_ascii_digit());
        let nb = b.starts_with(|c: char| c.is_ascii_digit());
        if na != nb {
            return if na {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let seg = |s: &str| -> usize {
            s.find(|c: char| {
                if na {
                    !c.is_ascii_digit()
                } else {
                    !c.is_ascii_alphabetic()
                }
            })
            .unwrap_or(s.len())
        };
        let (la, lb) = (seg(a), seg(b));
        let (mut x, mut y) = (&a[..la], &b[..lb]);
        a = &a[la..];
        b = &b[lb..];
        if na {
            x = x.trim_start_matches('0');
            y = y.trim_start_matches('0');
            if x.len() != y.len() {
                return x.len().cmp(&y.len());
            }
        }
        if x != y {
            return x.cmp(y);
        }
    }
    Ordering::Equal
}
