//! The GRUB corpus (xtask/tests/corpus/grub) as partition trees, and the
//! runtime's ash parser run on one, for sourceme_grub.rs and
//! grub_vs_sourceme.rs. A case is a set of partitions, each a directory
//! (or none: a filesystem gen-kexec cannot read): a committed tree under
//! trees/NAME (its `parts` file: NAME NUM FSTYPE UUID LABEL per line, tab
//! separated, and a directory per mounted partition), or one built from a
//! generated `*.cfg` (Debian's grub-mkconfig output) with the files its
//! linux/initrd lines name.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub struct PartDef {
    pub name: String,
    pub num: Option<u32>,
    pub fstype: String,
    pub uuid: String,
    pub label: String,
    pub dir: Option<PathBuf>,
}

pub struct Case {
    pub name: String,
    pub parts: Vec<PartDef>,
    _tmp: Option<tempfile::TempDir>,
}

pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/grub")
}

pub const UUID1: &str = "0e2e0014-0001-4000-8000-000000000001";
pub const UUID2: &str = "0e2e0014-0002-4000-8000-000000000002";

/// Every case of the corpus, sorted by name: the `*.cfg` / `*.lst` files,
/// the directories with a grub.cfg (and a grubenv), the trees.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut cfgs: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "cfg" || e == "lst") || p.join("grub.cfg").is_file()
        })
        .collect();
    cfgs.sort();
    for cfg in cfgs {
        out.push(from_cfg(&cfg));
    }
    let mut trees: Vec<PathBuf> = std::fs::read_dir(corpus().join("trees"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("parts").is_file())
        .collect();
    trees.sort();
    for t in trees {
        out.push(from_tree(&t));
    }
    out
}

/// A case from a committed tree.
pub fn from_tree(dir: &Path) -> Case {
    let mut parts = Vec::new();
    for line in std::fs::read_to_string(dir.join("parts")).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let d = dir.join(f[0]);
        parts.push(PartDef {
            name: f[0].into(),
            num: f[1].parse().ok(),
            fstype: f[2].into(),
            uuid: f.get(3).unwrap_or(&"").to_string(),
            label: f.get(4).unwrap_or(&"").to_string(),
            dir: d.is_dir().then_some(d),
        });
    }
    Case {
        name: dir.file_name().unwrap().to_string_lossy().into(),
        parts,
        _tmp: None,
    }
}

/// A case from a corpus config: `*sepboot*` has /boot on sda1 (the config
/// in /grub) and / on sda2; the others one partition (/boot/grub/grub.cfg,
/// or /boot/grub/menu.lst for `*.lst`). A directory holds a grub.cfg and
/// the grubenv beside it. Every file a linux/initrd/kernel line names is
/// made (a stand-in).
pub fn from_cfg(cfg: &Path) -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let name = cfg.file_name().unwrap().to_string_lossy().to_string();
    let (text, env) = if cfg.is_dir() {
        (
            std::fs::read_to_string(cfg.join("grub.cfg")).unwrap(),
            std::fs::read(cfg.join("grubenv")).ok(),
        )
    } else {
        (std::fs::read_to_string(cfg).unwrap(), None)
    };
    let sep = name.contains("sepboot");
    let p1 = tmp.path().join("sda1");
    let p2 = tmp.path().join("sda2");
    std::fs::create_dir_all(&p2).unwrap();
    let at = if name.ends_with(".lst") {
        "boot/grub/menu.lst"
    } else if sep {
        "grub/grub.cfg"
    } else {
        "boot/grub/grub.cfg"
    };
    std::fs::create_dir_all(p1.join(at).parent().unwrap()).unwrap();
    std::fs::write(p1.join(at), &text).unwrap();
    if let Some(env) = env {
        std::fs::write(p1.join(at).with_file_name("grubenv"), env).unwrap();
    }
    for line in text.lines() {
        let mut w = line.split_whitespace();
        let paths: Vec<&str> = match w.next() {
            Some("linux" | "linux16" | "linuxefi" | "kernel") => {
                w.find(|a| !a.starts_with("--")).into_iter().collect()
            }
            Some("initrd" | "initrd16" | "initrdefi") => w.collect(),
            _ => continue,
        };
        for p in paths {
            let p = p.trim_matches(['\'', '"']);
            let p = match p.find(')') {
                Some(i) if p.starts_with('(') => &p[i + 1..],
                _ => p,
            };
            if !p.starts_with('/') || p.contains('$') {
                continue;
            }
            let f = p1.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "stand-in\n").unwrap();
        }
    }
    let part = |n: &str, num, uuid: &str, dir: PathBuf| PartDef {
        name: n.into(),
        num: Some(num),
        fstype: "ext4".into(),
        uuid: uuid.into(),
        label: String::new(),
        dir: Some(dir),
    };
    let parts = vec![part("sda1", 1, UUID1, p1), part("sda2", 2, UUID2, p2)];
    Case {
        name,
        parts,
        _tmp: Some(tmp),
    }
}

impl Case {
    /// One ext4 partition sda1 in DIR.
    pub fn one(name: &str, dir: PathBuf) -> Case {
        let p = PartDef {
            name: "sda1".into(),
            num: Some(1),
            fstype: "ext4".into(),
            uuid: UUID1.into(),
            label: String::new(),
            dir: Some(dir),
        };
        Case {
            name: name.into(),
            parts: vec![p],
            _tmp: None,
        }
    }

    /// GK_GRUB_PARTS for this case.
    pub fn parts_var(&self) -> String {
        self.parts
            .iter()
            .map(|p| {
                let dir = p
                    .dir
                    .as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default();
                let num = p.num.map(|n| n.to_string()).unwrap_or_default();
                format!(
                    "{}\t{num}\t{}\t{}\t{}\t{dir}\n",
                    p.name, p.fstype, p.uuid, p.label
                )
            })
            .collect()
    }
}

/// What the ash parser gives for a case: the config found (gk_find_config
/// on the first partition that has one), GK_RECORDS, GRUB's variables, the
/// plan (label, kernel, initrds, cmdline, wait) or the refusal, stderr.
pub struct AshOut {
    pub config: String,
    pub cfgname: String,
    pub records: Vec<String>,
    pub timeout: String,
    pub style: String,
    pub default: String,
    pub plan: Result<[String; 5], String>,
    pub stderr: String,
}

pub fn ash(case: &Case, conf: &str) -> AshOut {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    std::fs::create_dir(&proc_dir).unwrap();
    std::fs::write(proc_dir.join("cmdline"), "").unwrap();
    std::fs::write(tmp.path().join("gen-kexec.conf"), conf).unwrap();
    let pv = case.parts_var();
    let mut last = String::new();
    for p in &case.parts {
        let Some(dir) = &p.dir else { continue };
        let out = crate::sourceme_harness::run(
            &format!(
                r#"GK_DEV=/dev/{name} GK_FSTYPE={fs}
cfg=$(gk_find_config) || exit 3
gk_read_conf "$GK_CONF"
gk_parse_config "$cfg"
printf '@C %s\n' "$cfg"
printf '%s\n' "$GK_RECORDS" | while IFS= read -r l; do printf '@R %s\n' "$l"; done
printf '@T %s\n@S %s\n@D %s\n' "$GK_GRUB_TIMEOUT" "$GK_GRUB_STYLE" "$GK_GRUB_DEFAULT"
gk_plan "$cfg" || exit 1
printf '@P %s\n' "$GK_LABEL" "$GK_KERNEL" "$GK_INITRDS" "$GK_CMDLINE" "$GK_M_WAIT""#,
                name = p.name,
                fs = p.fstype
            ),
            &[
                ("GK_ROOT", dir.as_path()),
                ("GK_PROC", &proc_dir),
                ("GK_TMP", &tmp.path().join("tmp")),
                ("GK_CONF", &tmp.path().join("gen-kexec.conf")),
                ("GK_GRUB_PARTS", Path::new(&pv)),
            ],
        );
        let get = |k: &str| -> Vec<String> {
            out.stdout
                .lines()
                .filter_map(|l| l.strip_prefix(k))
                .map(str::to_owned)
                .collect()
        };
        if get("@C ").is_empty() {
            last = out.stderr.clone();
            continue;
        }
        let one = |k: &str| get(k).into_iter().next().unwrap_or_default();
        let pl = get("@P ");
        let plan = if out.ok && pl.len() == 5 {
            Ok([
                pl[0].clone(),
                pl[1].clone(),
                pl[2].clone(),
                pl[3].clone(),
                pl[4].clone(),
            ])
        } else {
            Err(out.stderr.clone())
        };
        return AshOut {
            config: one("@C "),
            cfgname: p.name.clone(),
            records: get("@R ").into_iter().filter(|l| !l.is_empty()).collect(),
            timeout: one("@T "),
            style: one("@S "),
            default: one("@D "),
            plan,
            stderr: out.stderr,
        };
    }
    panic!("case {}: no partition has a config: {last}", case.name);
}
