//! GRUB 2's search, probe and load_env, as grub-env.awk runs them.

use super::Grub;

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
}
