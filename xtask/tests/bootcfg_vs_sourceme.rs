//! The host syslinux model (xtask/src/bootcfg) against the runtime's ash
//! parser (initramfs-skel/lib/gen-kexec, `gk_plan`): for every fixture tree
//! under tests/sourceme/ and a corpus of small generated configs, both must
//! boot the same label, kernel, initrds and command line after the same
//! wait, or both refuse.

#[path = "../src/bootcfg/mod.rs"]
mod bootcfg;
mod sourceme_harness;

use std::path::Path;

use sourceme_harness::{run, tree};

const CPUINFO: &str =
    "processor\t: 0\nflags\t\t: fpu pae lm sse2\nprocessor\t: 1\nflags\t\t: fpu pae lm sse2\n";

/// (label, kernel, initrds, cmdline, wait) or a refusal.
type Outcome = Result<[String; 5], String>;

fn ash(root: &Path, fstype: &str) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    std::fs::create_dir(&proc_dir).unwrap();
    std::fs::write(proc_dir.join("cmdline"), "").unwrap();
    std::fs::write(proc_dir.join("cpuinfo"), CPUINFO).unwrap();
    let out = run(
        &format!(
            r#"GK_FSTYPE={fstype}
cfg=$(gk_find_config) || exit 3
gk_plan "$cfg" || exit 1
printf '@@%s\n' "$GK_LABEL" "$GK_KERNEL" "$GK_INITRDS" "$GK_CMDLINE" "$GK_M_WAIT""#
        ),
        &[
            ("GK_ROOT", root),
            ("GK_PROC", &proc_dir),
            ("GK_TMP", &tmp.path().join("tmp")),
            ("GK_CONF", &tmp.path().join("none.conf")),
        ],
    );
    if !out.ok {
        return Err(out.stderr);
    }
    let f: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("@@"))
        .map(str::to_owned)
        .collect();
    assert_eq!(f.len(), 5, "{}", out.stdout);
    Ok([
        f[0].clone(),
        f[1].clone(),
        f[2].clone(),
        f[3].clone(),
        f[4].clone(),
    ])
}

fn rust(root: &Path, fstype: &str) -> Outcome {
    let mut read = |p: &str| -> anyhow::Result<Option<Vec<u8>>> {
        let f = root.join(p.trim_start_matches('/'));
        Ok(if f.is_file() {
            Some(std::fs::read(f)?)
        } else {
            None
        })
    };
    let cpu = bootcfg::Cpu::from_cpuinfo(CPUINFO);
    let Some(cfg) = bootcfg::find_config(&mut read).unwrap() else {
        return Err("no config".into());
    };
    let p = bootcfg::plan(&mut read, &cfg, fstype, &cpu, None).unwrap()?;
    Ok([
        p.label,
        p.kernel,
        p.initrds.join(" "),
        p.cmdline,
        p.wait_cs.to_string(),
    ])
}

const HEADS: &[&str] = &[
    "",
    "ui menu.c32\n",
    "UI vesamenu.c32\nTIMEOUT 30\n",
    "default menu.c32\nprompt 0\n",
    "prompt 1\ntimeout 20\n",
    "prompt 1\n",
    "prompt 0\ntimeout 50\n",
    "ui menu.c32\ntotaltimeout 0x10\n",
];
const DEFAULTS: &[&str] = &[
    "",
    "default b\n",
    "default b extra=1 -- single\n",
    "default /boot/vmlinuz\n",
    "default nosuch\n",
    "ontimeout c\n",
    "default c\nontimeout a x=1\n",
];
const BODIES: &[&str] = &[
    "append global=1\nlabel a\n kernel /a quiet\n append root=/dev/sda\nlabel b\n menu default\n linux ../b\n initrd i1,i2\nmenu separator\nlabel c\n kernel c.c32\n",
    "label a\n menu hide\n kernel /a\nmenu begin sub\n menu title Sub\n label b\n  kernel /b\n  append -\n menu end\nlabel c\n menu disable\n kernel /c\n",
    "label a\n com32 ifcpu64.c32\n append b -- c\nlabel b\n kernel /b64 initrd=/x,y\nlabel c\n kernel /b32\n",
    "label a\n com32 whichsys.c32\n append -iso- b -sys- c\nlabel b\n config /boot/other.cfg /boot\nlabel c\n localboot 0\n",
    "label a\n com32 ifcpu.c32\n append pae lm -- b -- c\nlabel b\n kernel /yes\nlabel c\n kernel /no\n append -\n",
];
const SPECIALS: &[&str] = &[
    "include missing.cfg\ndefault x\nlabel x\n kernel /x\n",
    "ui menu.c32\nmenu include sub.cfg More\nlabel top\n kernel /t\n",
    "DEFAULT Loop\nLABEL Loop\n CONFIG isolinux.cfg\n",
    "default x\r\nLABEL x\r\n\tKERNEL\t/x   a\t b\r\n\tAPPEND  c=1\r\n",
    "text help\nlabel y\n kernel /y\nendtext\ndefault x\nlabel x\n kernel /x\n",
    "default Live system\nlabel Live system\n kernel /k\n",
    "default h\nlabel h\n menu hide\n kernel /h\n",
    "ui menu.c32\nlabel a\n localboot 0\nlabel b\n kernel chain.c32\n",
    "default m\nlabel m\n kernel memdisk\n initrd fd.img\n",
    "default m\nlabel m\n kernel menu.c32 sub.cfg\n",
    "append -\ndefault /vmlinuz\n",
    "prompt 1\ntimeout 999999999999\ndefault x\nlabel x\n kernel /x initrd= initrd=/a initrd=/b\n",
    "default x\nlabel x\n kernel x\n initrd ../i.gz\n",
    "ui menu.c32\nlabel\n kernel /blank\n",
    "default a\nlabel a\n com32 ifcpu.c32\n append smp nosuchflag -- b\nlabel b\n kernel /b\n",
    "default a\nlabel a\n com32 whichsys.c32\n append x -iso- -sys- c\nlabel c\n kernel /c\n",
    "ui menu.c32\nmenu begin\nlabel a\n kernel /a\n menu default\nmenu end\nlabel b\n kernel /b\n",
    "menu hide\nlabel a\n kernel /a\nlabel b\n kernel /b\n ui menu.c32\n",
    "ui menu.c32\nontimeout nosuch.c32\nlabel a\n kernel /a\n",
    "default go\nlabel go\n config /boot/other.cfg\n",
];

fn corpus() -> Vec<Vec<(String, String)>> {
    let other = (
        "boot/other.cfg".to_owned(),
        "default k\nlabel k\n kernel vmlinuz\n initrd initrd.gz\n".to_owned(),
    );
    let sub = (
        "isolinux/sub.cfg".to_owned(),
        "label inner\n menu label ^Inner\n kernel /i\n".to_owned(),
    );
    let mut out = Vec::new();
    for h in HEADS {
        for d in DEFAULTS {
            for b in BODIES {
                let cfg = format!("{h}{d}{b}");
                out.push(vec![
                    ("isolinux/isolinux.cfg".to_owned(), cfg),
                    other.clone(),
                ]);
            }
        }
    }
    for s in SPECIALS {
        out.push(vec![
            ("isolinux/isolinux.cfg".to_owned(), s.to_string()),
            other.clone(),
            sub.clone(),
        ]);
    }
    out
}

#[test]
fn the_rust_model_and_the_ash_parser_agree() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sourceme");
    let mut cases: Vec<(String, std::path::PathBuf, Option<tempfile::TempDir>, &str)> = Vec::new();
    for e in std::fs::read_dir(&fixtures).unwrap() {
        let p = e.unwrap().path();
        for fs in ["iso9660", "vfat"] {
            cases.push((p.display().to_string(), p.clone(), None, fs));
        }
    }
    for (i, files) in corpus().into_iter().enumerate() {
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let t = tree(&refs);
        let name = format!("generated #{i}:\n{}", files[0].1);
        cases.push((name, t.path().to_owned(), Some(t), "iso9660"));
    }
    let chunks: Vec<_> = cases.chunks(cases.len().div_ceil(2)).collect();
    let failures: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for (name, root, _, fs) in chunk.iter() {
                        let (a, r) = (ash(root, fs), rust(root, fs));
                        match (&a, &r) {
                            (Ok(x), Ok(y)) if x == y => {}
                            (Err(_), Err(_)) => {}
                            _ => bad.push(format!("{name} ({fs}):\n  ash:  {a:?}\n  rust: {r:?}")),
                        }
                    }
                    bad
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    println!(
        "compared {} configs (fixtures and generated), {} disagreements",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
