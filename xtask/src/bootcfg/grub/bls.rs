//! Fedora's blscfg (BootLoaderSpec entries), as grub-env.awk runs it.

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
